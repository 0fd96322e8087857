package conformance

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/cni/pkg/version"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/coreos/go-iptables/iptables"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/vishvananda/netlink"

	"github.com/cnigate/cnigate/cnitest"
)

// podnet's own error codes, as docs/podnet.md#error-codes documents them.
const (
	codePoolExhausted    = 100
	codeAttachmentExists = 101
	codeCheckFailed      = 102
	codeIfNameTaken      = 103
	codeNotAvailable     = 50
	podnetBridge         = "cni0"
	podnetGateway        = "10.99.1.1"
	podnetGateway6       = "fd00:10:99:1::1" // testSubnet6's first host
)

// podnetConf is the podnet config of a testbed, decoded.
type podnetConf struct {
	Name    string `json:"name"`
	DataDir string `json:"dataDir"`
}

func podnetConfOf(tb *testbed) podnetConf {
	GinkgoHelper()
	var c podnetConf
	Expect(json.Unmarshal(tb.conf, &c)).To(Succeed())
	return c
}

// storeDir is where podnet keeps the network's reservations.
func storeDir(tb *testbed) string {
	c := podnetConfOf(tb)
	return filepath.Join(c.DataDir, c.Name)
}

func hostLink(tb *testbed, name string) cnitest.Link {
	GinkgoHelper()
	l, found, err := cnitest.LinkIn(tb.host, name)
	Expect(err).NotTo(HaveOccurred())
	Expect(found).To(BeTrue(), "%s missing from the host netns", name)
	return l
}

// hostVethOf is the host end podnet reports in the result.
func hostVethOf(a attachment) string {
	GinkgoHelper()
	Expect(a.result.Interfaces).To(HaveLen(3), "podnet reports bridge, host veth and pod interface")
	return a.result.Interfaces[1].Name
}

func inHost(tb *testbed, f func() error) {
	GinkgoHelper()
	Expect(cnitest.InNS(tb.host, f)).To(Succeed())
}

// hostRules lists podnet's rules in the host netns, as "table chain rule".
func hostRules(tb *testbed) []string {
	GinkgoHelper()
	var rules []string
	inHost(tb, func() error {
		ipt, err := iptables.New()
		if err != nil {
			return err
		}
		for _, tc := range [][2]string{{"filter", "FORWARD"}, {"nat", "POSTROUTING"}} {
			list, err := ipt.List(tc[0], tc[1])
			if err != nil {
				return err
			}
			for _, r := range list {
				if strings.Contains(r, "podnet") {
					rules = append(rules, tc[0]+" "+r)
				}
			}
		}
		return nil
	})
	return rules
}

var _ = Describe("podnet", Label("podnet"), func() {
	var tb *testbed
	// podnet's own specs run the tutorial's IPv4-only conf (a plain
	// netconf's IPv6 knobs left out); the generic specs run the default
	// netconf, dual-stack, once per family.
	BeforeEach(func() { tb = newTestbed(version.Current(), withoutIPv6) })

	Describe("ADD", func() {
		It("dual-stack (network6, subnet6): one address per family, the bridge holds both gateways, a default route per family", func() {
			if cfg.netconf.Knobs().Subnet6 == "" {
				Skip("the netconf takes no subnet6 knob (profile netconf.subnet6): it is IPv4-only")
			}
			tb = newTestbed(version.Current()) // the default netconf, both families
			a := tb.add(tb.newPod())
			r := a.result
			Expect(r.IPs).To(HaveLen(2), "one address per family")
			v6 := resultIP(r, "ipv6")
			Expect(v6.Address.String()).To(Equal("fd00:10:99:1::2/64"), "the first free IPv6 address")
			Expect(v6.Gateway.String()).To(Equal(podnetGateway6))
			Expect(hostLink(tb, podnetBridge).Addrs6).To(ConsistOf(podnetGateway6 + "/64"))
			pod, _, err := cnitest.LinkIn(a.pod, testIfName)
			Expect(err).NotTo(HaveOccurred())
			Expect(pod.DefaultGateway.String()).To(Equal(podnetGateway))
			Expect(pod.DefaultGateway6.String()).To(Equal(podnetGateway6))
		})

		It("builds the tutorial's node design: bridge with the gateway, host veth on it, pod on the subnet", func() {
			a := tb.add(tb.newPod())
			r := a.result
			Expect(r.Interfaces[0].Name).To(Equal(podnetBridge))
			Expect(r.Interfaces[2].Name).To(Equal(testIfName))
			Expect(r.Interfaces[2].Sandbox).To(Equal(a.pod.Path()))
			Expect(r.IPs).To(HaveLen(1))
			Expect(*r.IPs[0].Interface).To(Equal(2))
			Expect(r.IPs[0].Address.String()).To(Equal("10.99.1.2/24"), "the first free address")
			Expect(r.IPs[0].Gateway.String()).To(Equal(podnetGateway))
			Expect(r.Routes).To(HaveLen(1))
			Expect(r.Routes[0].Dst.String()).To(Equal("0.0.0.0/0"))
			Expect(r.Routes[0].GW.String()).To(Equal(podnetGateway))

			br := hostLink(tb, podnetBridge)
			Expect(br.Type).To(Equal("bridge"))
			Expect(br.Up).To(BeTrue())
			Expect(br.Addrs).To(ConsistOf(podnetGateway + "/24"))
			Expect(br.MAC).To(Equal(r.Interfaces[0].Mac))
			veth := hostLink(tb, hostVethOf(a))
			Expect(veth.Type).To(Equal("veth"))
			Expect(veth.Up).To(BeTrue())
			Expect(veth.MasterIndex).To(Equal(br.Index), "host veth not on the bridge")
			Expect(veth.MTU).To(Equal(testMTU))
			Expect(veth.MAC).To(Equal(r.Interfaces[1].Mac))
		})

		It("keeps the bridge's MAC (the pods' gateway MAC) as pods come and go", func() {
			first := tb.add(tb.newPod())
			mac := hostLink(tb, podnetBridge).MAC
			for range 3 {
				a := tb.add(tb.newPod())
				Expect(tb.del(a, a.pod.Path()).Failed()).To(BeFalse())
			}
			Expect(tb.del(first, first.pod.Path()).Failed()).To(BeFalse())
			tb.add(tb.newPod())
			Expect(hostLink(tb, podnetBridge).MAC).To(Equal(mac))
		})

		It("uses a bridge that already exists, as the tutorial made it by hand", func() {
			inHost(tb, func() error {
				attrs := netlink.NewLinkAttrs()
				attrs.Name = podnetBridge
				return netlink.LinkAdd(&netlink.Bridge{LinkAttrs: attrs})
			})
			a := tb.add(tb.newPod())
			Expect(hostLink(tb, podnetBridge).Addrs).To(ConsistOf(podnetGateway + "/24"))
			Expect(hostLink(tb, hostVethOf(a)).MasterIndex).To(Equal(hostLink(tb, podnetBridge).Index))
		})

		It("fails cleanly when the bridge name is taken by something else", func() {
			inHost(tb, func() error {
				attrs := netlink.NewLinkAttrs()
				attrs.Name = podnetBridge
				return netlink.LinkAdd(&netlink.Veth{LinkAttrs: attrs, PeerName: "not-a-bridge"})
			})
			pod := tb.newPod()
			id := newContainerID()
			resp := tb.run(cnitest.Invocation{Command: "ADD", ContainerID: id, NetNS: pod.Path()})
			Expect(resp.Failed()).To(BeTrue())
			cniErr, err := resp.Error()
			Expect(err).NotTo(HaveOccurred())
			Expect(cniErr.Msg).To(ContainSubstring("not a bridge"))
			tb.expectReleased(id, "rollback left the reservation")
			Expect(tb.hostVeths()).To(ConsistOf(podnetBridge, "not-a-bridge"), "rollback left a host veth")
			Expect(cnitest.LinkNames(pod)).To(Equal([]string{"lo"}))
		})

		It("refuses an attachment that already has an address, even in another netns", func() {
			a := tb.add(tb.newPod())
			other := tb.newPod()
			resp := tb.run(cnitest.Invocation{Command: "ADD", ContainerID: a.id, NetNS: other.Path()})
			expectCNIError(resp, codeAttachmentExists)
			Expect(cnitest.LinkNames(other)).To(Equal([]string{"lo"}))
			Expect(tb.check(a).Failed()).To(BeFalse(), "the first attachment was disturbed")
		})

		It("installs each iptables rule exactly once however many ADDs race, and keeps them after DEL", func() {
			const n = 20
			var wg sync.WaitGroup
			added := make([]attachment, n)
			pods := make([]ns.NetNS, n)
			for i := range pods {
				pods[i] = tb.newPod()
			}
			for i := range n {
				wg.Go(func() {
					defer GinkgoRecover()
					added[i] = tb.add(pods[i])
				})
			}
			wg.Wait()
			want := []string{
				`filter -A FORWARD -s 10.99.0.0/16 -m comment --comment "podnet: cnitest" -j ACCEPT`,
				`filter -A FORWARD -d 10.99.0.0/16 -m comment --comment "podnet: cnitest" -j ACCEPT`,
				`nat -A POSTROUTING -s 10.99.1.0/24 ! -d 10.99.0.0/16 ! -o cni0 -m comment --comment "podnet: cnitest" -j MASQUERADE`,
			}
			Expect(hostRules(tb)).To(ConsistOf(want))
			for _, a := range added {
				Expect(tb.del(a, a.pod.Path()).Failed()).To(BeFalse())
			}
			Expect(hostRules(tb)).To(ConsistOf(want), "rules are node-wide and stay")
		})

		It("adds no iptables rules with ipMasq false", func() {
			tb.conf = mustWithFields(tb.conf, map[string]any{"ipMasq": false})
			tb.add(tb.newPod())
			Expect(hostRules(tb)).To(BeEmpty())
		})
	})

	Describe("IPAM store", func() {
		It("keeps one 0600 file per address, named by it, holding container ID and ifname, in a 0700 dir", func() {
			a := tb.add(tb.newPod())
			dir := storeDir(tb)
			st, err := os.Stat(dir)
			Expect(err).NotTo(HaveOccurred())
			Expect(st.Mode().Perm()).To(Equal(os.FileMode(0o700)))
			file := filepath.Join(dir, podIP(a.result))
			st, err = os.Stat(file)
			Expect(err).NotTo(HaveOccurred())
			Expect(st.Mode().Perm()).To(Equal(os.FileMode(0o600)))
			Expect(os.ReadFile(file)).To(Equal([]byte(a.id + "\n" + testIfName + "\n")))
		})

		It("fills a /29 with exactly .2-.6, never network, gateway or broadcast, then names the subnet", func() {
			tb = newTestbed(version.Current(), withoutIPv6, withSubnet("10.99.1.0/29"))
			var got []string
			for range 5 {
				got = append(got, podIP(tb.add(tb.newPod()).result))
			}
			Expect(got).To(Equal([]string{"10.99.1.2", "10.99.1.3", "10.99.1.4", "10.99.1.5", "10.99.1.6"}))
			pod := tb.newPod()
			resp := tb.run(cnitest.Invocation{Command: "ADD", ContainerID: newContainerID(), NetNS: pod.Path()})
			expectCNIError(resp, codePoolExhausted)
			cniErr, _ := resp.Error()
			Expect(cniErr.Msg).To(ContainSubstring("10.99.1.0/29"))
			Expect(cnitest.LinkNames(pod)).To(Equal([]string{"lo"}))
			Expect(tb.hostVeths()).To(HaveLen(5))
		})

		It("DEL of a network that never ADDed creates no data dir", func() {
			resp := tb.run(cnitest.Invocation{Command: "DEL", ContainerID: newContainerID(), NetNS: tb.newPod().Path()})
			Expect(resp.Failed()).To(BeFalse(), "%s", resp)
			_, err := os.Stat(podnetConfOf(tb).DataDir)
			Expect(os.IsNotExist(err)).To(BeTrue(), "DEL created %s", podnetConfOf(tb).DataDir)
		})
	})

	DescribeTable("CHECK names what is wrong",
		func(tamper func(tb *testbed, a attachment), want string) {
			a := tb.add(tb.newPod())
			tamper(tb, a)
			resp := tb.check(a)
			expectCNIError(resp, codeCheckFailed)
			cniErr, _ := resp.Error()
			Expect(cniErr.Msg).To(ContainSubstring(want))
		},
		Entry("pod interface down", func(_ *testbed, a attachment) {
			inPod(a, netlink.LinkSetDown)
		}, `interface "eth0" is down`),
		Entry("pod interface MTU changed", func(_ *testbed, a attachment) {
			inPod(a, func(l netlink.Link) error { return netlink.LinkSetMTU(l, 1300) })
		}, `has MTU 1300, want 1400`),
		Entry("pod interface deleted", func(_ *testbed, a attachment) {
			inPod(a, netlink.LinkDel)
		}, `interface "eth0" is missing from the pod netns`),
		Entry("default route removed", func(_ *testbed, a attachment) {
			inPod(a, func(l netlink.Link) error {
				return netlink.RouteDel(&netlink.Route{LinkIndex: l.Attrs().Index, Gw: a.result.IPs[0].Gateway})
			})
		}, "route to 0.0.0.0/0 via 10.99.1.1 is missing"),
		Entry("host veth down", func(tb *testbed, a attachment) {
			inHost(tb, func() error { return setDown(hostVethOf(a)) })
		}, "is down"),
		Entry("host veth off the bridge", func(tb *testbed, a attachment) {
			inHost(tb, func() error { return noMaster(hostVethOf(a)) })
		}, "is not attached to bridge"),
		Entry("host veth hairpin turned off", func(tb *testbed, a attachment) {
			inHost(tb, func() error {
				l, err := netlink.LinkByName(hostVethOf(a))
				if err != nil {
					return err
				}
				return netlink.LinkSetHairpin(l, false)
			})
		}, "hairpin mode false"),
		Entry("gateway address removed from the bridge", func(tb *testbed, _ attachment) {
			inHost(tb, func() error { return delAddr(podnetBridge, podnetGateway+"/24") })
		}, "lacks gateway address"),
		Entry("reservation removed", func(tb *testbed, a attachment) {
			Expect(os.Remove(filepath.Join(storeDir(tb), podIP(a.result)))).To(Succeed())
		}, "no IPAM reservation"),
		Entry("reservation moved to another address", func(tb *testbed, a attachment) {
			dir := storeDir(tb)
			Expect(os.Rename(filepath.Join(dir, podIP(a.result)), filepath.Join(dir, "10.99.1.77"))).To(Succeed())
		}, "IPAM reservation of"),
		Entry("MASQUERADE rule deleted", func(tb *testbed, _ attachment) {
			inHost(tb, func() error {
				ipt, err := iptables.New()
				if err != nil {
					return err
				}
				return ipt.Delete("nat", "POSTROUTING", "-s", testSubnet, "!", "-d", testNetwork, "!", "-o", podnetBridge,
					"-m", "comment", "--comment", "podnet: "+testNetName, "-j", "MASQUERADE")
			})
		}, "iptables rule missing: nat/POSTROUTING"),
	)

	Describe("GC", func() {
		gc := func(attachments map[string][]types.GCAttachment) cnitest.Response {
			fields := map[string]any{}
			for k, v := range attachments {
				fields[k] = v
			}
			return tb.run(cnitest.Invocation{Command: "GC", Config: mustWithFields(tb.conf, fields)})
		}

		for _, key := range []string{"cni.dev/valid-attachments", "cni.dev/attachments"} {
			It("releases every attachment missing from "+key+" with its host veth, silently", func() {
				keep, stale := tb.add(tb.newPod()), tb.add(tb.newPod())
				resp := gc(map[string][]types.GCAttachment{key: {{ContainerID: keep.id, IfName: testIfName}}})
				Expect(resp.Failed()).To(BeFalse(), "%s", resp)
				Expect(resp.Stdout).To(BeEmpty())
				tb.expectReleased(stale.id)
				Expect(tb.hostVeths()).To(ConsistOf(hostVethOf(keep)))
				Expect(tb.check(keep).Failed()).To(BeFalse(), "GC disturbed a valid attachment")
			})
		}

		It("with an empty list of valid attachments releases everything", func() {
			a, b := tb.add(tb.newPod()), tb.add(tb.newPod())
			resp := gc(map[string][]types.GCAttachment{"cni.dev/valid-attachments": {}})
			Expect(resp.Failed()).To(BeFalse(), "%s", resp)
			tb.expectReleased(a.id)
			tb.expectReleased(b.id)
			Expect(tb.hostVeths()).To(BeEmpty())
		})

		It("without the list (absent or misspelt) is refused and keeps every attachment", func() {
			a, b := tb.add(tb.newPod()), tb.add(tb.newPod())
			expectCNIError(gc(nil), types.ErrInvalidNetworkConfig)
			expectCNIError(gc(map[string][]types.GCAttachment{"cni.dev/valid-attachment": {}}), types.ErrInvalidNetworkConfig)
			Expect(tb.check(a).Failed()).To(BeFalse())
			Expect(tb.check(b).Failed()).To(BeFalse())
		})
	})

	Describe("STATUS", func() {
		It("reports code 50 when the data dir is unusable", func() {
			Expect(os.WriteFile(podnetConfOf(tb).DataDir, []byte("not a dir"), 0o600)).To(Succeed())
			resp := tb.run(cnitest.Invocation{Command: "STATUS"})
			expectCNIError(resp, codeNotAvailable)
			cniErr, _ := resp.Error()
			Expect(cniErr.Msg).To(ContainSubstring("data directory"))
		})

		It("reports code 50 when the pool is exhausted, and 0 once an address is free", func() {
			tb = newTestbed(version.Current(), withoutIPv6, withSubnet("10.99.1.0/30")) // room for one pod
			a := tb.add(tb.newPod())
			resp := tb.run(cnitest.Invocation{Command: "STATUS"})
			expectCNIError(resp, codeNotAvailable)
			cniErr, _ := resp.Error()
			Expect(cniErr.Msg).To(ContainSubstring("10.99.1.0/30"))
			Expect(tb.del(a, a.pod.Path()).Failed()).To(BeFalse())
			Expect(tb.run(cnitest.Invocation{Command: "STATUS"}).Failed()).To(BeFalse())
		})
	})

	It("logs one line per operation to logFile and nothing but the result to stdout", func() {
		logFile := filepath.Join(tb.tmp, "podnet.log")
		tb.conf = mustWithFields(tb.conf, map[string]any{"logFile": logFile})
		a := tb.add(tb.newPod())
		Expect(tb.del(a, a.pod.Path()).Failed()).To(BeFalse())
		failed := tb.run(cnitest.Invocation{Command: "ADD", ContainerID: a.id, NetNS: "/no/such/netns"})
		Expect(failed.Failed()).To(BeTrue())

		data, err := os.ReadFile(logFile)
		Expect(err).NotTo(HaveOccurred())
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		Expect(lines).To(HaveLen(3))
		field := func(name string) string { return fmt.Sprintf(`%s=\S+`, name) }
		for i, cmd := range []string{"ADD", "DEL", "ADD"} {
			Expect(lines[i]).To(MatchRegexp(`^\S+ %s container=%s ifname=eth0 ip=\S+ %s outcome=`, cmd, regexp.QuoteMeta(a.id), field("duration")))
		}
		Expect(lines[0]).To(ContainSubstring("ip=" + podIP(a.result)))
		Expect(lines[0]).To(HaveSuffix(`outcome="ok"`))
		Expect(lines[1]).To(ContainSubstring("ip=" + podIP(a.result)))
		Expect(lines[2]).To(ContainSubstring(`outcome="error: CNI_NETNS \"/no/such/netns\" is not a network namespace`))
	})

	It("answers VERSION with exactly the spec versions it implements", func() {
		Expect(cfg.versions).To(Equal([]string{"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"}))
	})

	It("results convert to every claimed version without losing the pod address", func() {
		a := tb.add(tb.newPod())
		for _, v := range cfg.versions {
			r, err := a.result.GetAsVersion(v)
			Expect(err).NotTo(HaveOccurred())
			back, err := current.NewResultFromResult(r)
			Expect(err).NotTo(HaveOccurred())
			Expect(podIP(back)).To(Equal(podIP(a.result)))
		}
	})
})

func setDown(name string) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return err
	}
	return netlink.LinkSetDown(l)
}

func noMaster(name string) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return err
	}
	return netlink.LinkSetNoMaster(l)
}

func delAddr(link, cidr string) error {
	l, err := netlink.LinkByName(link)
	if err != nil {
		return err
	}
	addr, err := netlink.ParseAddr(cidr)
	if err != nil {
		return err
	}
	return netlink.AddrDel(l, addr)
}
