package podnetspecs

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
	"github.com/cnigate/cnigate/conformance"
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

func podnetConfOf(tb *conformance.Testbed) podnetConf {
	GinkgoHelper()
	var c podnetConf
	Expect(json.Unmarshal(tb.Conf, &c)).To(Succeed())
	return c
}

// storeDir is where podnet keeps the network's reservations.
func storeDir(tb *conformance.Testbed) string {
	c := podnetConfOf(tb)
	return filepath.Join(c.DataDir, c.Name)
}

func hostLink(tb *conformance.Testbed, name string) cnitest.Link {
	GinkgoHelper()
	l, found, err := cnitest.LinkIn(tb.Host, name)
	Expect(err).NotTo(HaveOccurred())
	Expect(found).To(BeTrue(), "%s missing from the host netns", name)
	return l
}

// hostVethOf is the host end podnet reports in the result.
func hostVethOf(a conformance.Attachment) string {
	GinkgoHelper()
	Expect(a.Result.Interfaces).To(HaveLen(3), "podnet reports bridge, host veth and pod interface")
	return a.Result.Interfaces[1].Name
}

func inHost(tb *conformance.Testbed, f func() error) {
	GinkgoHelper()
	Expect(cnitest.InNS(tb.Host, f)).To(Succeed())
}

// hostRules lists podnet's rules in the host netns, as "table chain rule".
func hostRules(tb *conformance.Testbed) []string {
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
	var tb *conformance.Testbed
	// podnet's own specs run the tutorial's IPv4-only conf (a plain
	// netconf's IPv6 knobs left out); the generic specs run the default
	// netconf, dual-stack, once per family.
	BeforeEach(func() { tb = conformance.NewTestbed(version.Current(), conformance.WithoutIPv6) })

	Describe("ADD", func() {
		It("dual-stack (network6, subnet6): one address per family, the bridge holds both gateways, a default route per family", func() {
			if conformance.Config().NetConf.Knobs().Subnet6 == "" {
				Skip("the netconf takes no subnet6 knob (profile netconf.subnet6): it is IPv4-only")
			}
			tb = conformance.NewTestbed(version.Current()) // the default netconf, both families
			a := tb.Add(tb.NewPod())
			r := a.Result
			Expect(r.IPs).To(HaveLen(2), "one address per family")
			v6 := conformance.ResultIP(r, "ipv6")
			Expect(v6.Address.String()).To(Equal("fd00:10:99:1::2/64"), "the first free IPv6 address")
			Expect(v6.Gateway.String()).To(Equal(podnetGateway6))
			Expect(hostLink(tb, podnetBridge).Addrs6).To(ConsistOf(podnetGateway6 + "/64"))
			pod, _, err := cnitest.LinkIn(a.Pod, conformance.TestIfName)
			Expect(err).NotTo(HaveOccurred())
			Expect(pod.DefaultGateway.String()).To(Equal(podnetGateway))
			Expect(pod.DefaultGateway6.String()).To(Equal(podnetGateway6))
		})

		It("builds the tutorial's node design: bridge with the gateway, host veth on it, pod on the subnet", func() {
			a := tb.Add(tb.NewPod())
			r := a.Result
			Expect(r.Interfaces[0].Name).To(Equal(podnetBridge))
			Expect(r.Interfaces[2].Name).To(Equal(conformance.TestIfName))
			Expect(r.Interfaces[2].Sandbox).To(Equal(a.Pod.Path()))
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
			Expect(veth.MTU).To(Equal(conformance.TestMTU))
			Expect(veth.MAC).To(Equal(r.Interfaces[1].Mac))
		})

		It("keeps the bridge's MAC (the pods' gateway MAC) as pods come and go", func() {
			first := tb.Add(tb.NewPod())
			mac := hostLink(tb, podnetBridge).MAC
			for range 3 {
				a := tb.Add(tb.NewPod())
				Expect(tb.Del(a, a.Pod.Path()).Failed()).To(BeFalse())
			}
			Expect(tb.Del(first, first.Pod.Path()).Failed()).To(BeFalse())
			tb.Add(tb.NewPod())
			Expect(hostLink(tb, podnetBridge).MAC).To(Equal(mac))
		})

		It("uses a bridge that already exists, as the tutorial made it by hand", func() {
			inHost(tb, func() error {
				attrs := netlink.NewLinkAttrs()
				attrs.Name = podnetBridge
				return netlink.LinkAdd(&netlink.Bridge{LinkAttrs: attrs})
			})
			a := tb.Add(tb.NewPod())
			Expect(hostLink(tb, podnetBridge).Addrs).To(ConsistOf(podnetGateway + "/24"))
			Expect(hostLink(tb, hostVethOf(a)).MasterIndex).To(Equal(hostLink(tb, podnetBridge).Index))
		})

		It("fails cleanly when the bridge name is taken by something else", func() {
			inHost(tb, func() error {
				attrs := netlink.NewLinkAttrs()
				attrs.Name = podnetBridge
				return netlink.LinkAdd(&netlink.Veth{LinkAttrs: attrs, PeerName: "not-a-bridge"})
			})
			pod := tb.NewPod()
			id := conformance.NewContainerID()
			resp := tb.Run(cnitest.Invocation{Command: "ADD", ContainerID: id, NetNS: pod.Path()})
			Expect(resp.Failed()).To(BeTrue())
			cniErr, err := resp.Error()
			Expect(err).NotTo(HaveOccurred())
			Expect(cniErr.Msg).To(ContainSubstring("not a bridge"))
			tb.ExpectReleased(id, "rollback left the reservation")
			Expect(tb.HostVeths()).To(ConsistOf(podnetBridge, "not-a-bridge"), "rollback left a host veth")
			Expect(cnitest.LinkNames(pod)).To(Equal([]string{"lo"}))
		})

		It("refuses an attachment that already has an address, even in another netns", func() {
			a := tb.Add(tb.NewPod())
			other := tb.NewPod()
			resp := tb.Run(cnitest.Invocation{Command: "ADD", ContainerID: a.ID, NetNS: other.Path()})
			conformance.ExpectCNIError(resp, codeAttachmentExists)
			Expect(cnitest.LinkNames(other)).To(Equal([]string{"lo"}))
			Expect(tb.Check(a).Failed()).To(BeFalse(), "the first attachment was disturbed")
		})

		It("installs each iptables rule exactly once however many ADDs race, and keeps them after DEL", func() {
			const n = 20
			var wg sync.WaitGroup
			added := make([]conformance.Attachment, n)
			pods := make([]ns.NetNS, n)
			for i := range pods {
				pods[i] = tb.NewPod()
			}
			for i := range n {
				wg.Go(func() {
					defer GinkgoRecover()
					added[i] = tb.Add(pods[i])
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
				Expect(tb.Del(a, a.Pod.Path()).Failed()).To(BeFalse())
			}
			Expect(hostRules(tb)).To(ConsistOf(want), "rules are node-wide and stay")
		})

		It("adds no iptables rules with ipMasq false", func() {
			tb.Conf = conformance.MustWithFields(tb.Conf, map[string]any{"ipMasq": false})
			tb.Add(tb.NewPod())
			Expect(hostRules(tb)).To(BeEmpty())
		})
	})

	Describe("IPAM store", func() {
		It("keeps one 0600 file per address, named by it, holding container ID and ifname, in a 0700 dir", func() {
			a := tb.Add(tb.NewPod())
			dir := storeDir(tb)
			st, err := os.Stat(dir)
			Expect(err).NotTo(HaveOccurred())
			Expect(st.Mode().Perm()).To(Equal(os.FileMode(0o700)))
			file := filepath.Join(dir, conformance.PodIP(a.Result))
			st, err = os.Stat(file)
			Expect(err).NotTo(HaveOccurred())
			Expect(st.Mode().Perm()).To(Equal(os.FileMode(0o600)))
			Expect(os.ReadFile(file)).To(Equal([]byte(a.ID + "\n" + conformance.TestIfName + "\n")))
		})

		It("fills a /29 with exactly .2-.6, never network, gateway or broadcast, then names the subnet", func() {
			tb = conformance.NewTestbed(version.Current(), conformance.WithoutIPv6, conformance.WithSubnet("10.99.1.0/29"))
			var got []string
			for range 5 {
				got = append(got, conformance.PodIP(tb.Add(tb.NewPod()).Result))
			}
			Expect(got).To(Equal([]string{"10.99.1.2", "10.99.1.3", "10.99.1.4", "10.99.1.5", "10.99.1.6"}))
			pod := tb.NewPod()
			resp := tb.Run(cnitest.Invocation{Command: "ADD", ContainerID: conformance.NewContainerID(), NetNS: pod.Path()})
			conformance.ExpectCNIError(resp, codePoolExhausted)
			cniErr, _ := resp.Error()
			Expect(cniErr.Msg).To(ContainSubstring("10.99.1.0/29"))
			Expect(cnitest.LinkNames(pod)).To(Equal([]string{"lo"}))
			Expect(tb.HostVeths()).To(HaveLen(5))
		})

		It("DEL of a network that never ADDed creates no data dir", func() {
			resp := tb.Run(cnitest.Invocation{Command: "DEL", ContainerID: conformance.NewContainerID(), NetNS: tb.NewPod().Path()})
			Expect(resp.Failed()).To(BeFalse(), "%s", resp)
			_, err := os.Stat(podnetConfOf(tb).DataDir)
			Expect(os.IsNotExist(err)).To(BeTrue(), "DEL created %s", podnetConfOf(tb).DataDir)
		})
	})

	DescribeTable("CHECK names what is wrong",
		func(tamper func(tb *conformance.Testbed, a conformance.Attachment), want string) {
			a := tb.Add(tb.NewPod())
			tamper(tb, a)
			resp := tb.Check(a)
			conformance.ExpectCNIError(resp, codeCheckFailed)
			cniErr, _ := resp.Error()
			Expect(cniErr.Msg).To(ContainSubstring(want))
		},
		Entry("pod interface down", func(_ *conformance.Testbed, a conformance.Attachment) {
			conformance.InPod(a, netlink.LinkSetDown)
		}, `interface "eth0" is down`),
		Entry("pod interface MTU changed", func(_ *conformance.Testbed, a conformance.Attachment) {
			conformance.InPod(a, func(l netlink.Link) error { return netlink.LinkSetMTU(l, 1300) })
		}, `has MTU 1300, want 1400`),
		Entry("pod interface deleted", func(_ *conformance.Testbed, a conformance.Attachment) {
			conformance.InPod(a, netlink.LinkDel)
		}, `interface "eth0" is missing from the pod netns`),
		Entry("default route removed", func(_ *conformance.Testbed, a conformance.Attachment) {
			conformance.InPod(a, func(l netlink.Link) error {
				return netlink.RouteDel(&netlink.Route{LinkIndex: l.Attrs().Index, Gw: a.Result.IPs[0].Gateway})
			})
		}, "route to 0.0.0.0/0 via 10.99.1.1 is missing"),
		Entry("host veth down", func(tb *conformance.Testbed, a conformance.Attachment) {
			inHost(tb, func() error { return setDown(hostVethOf(a)) })
		}, "is down"),
		Entry("host veth off the bridge", func(tb *conformance.Testbed, a conformance.Attachment) {
			inHost(tb, func() error { return noMaster(hostVethOf(a)) })
		}, "is not attached to bridge"),
		Entry("host veth hairpin turned off", func(tb *conformance.Testbed, a conformance.Attachment) {
			inHost(tb, func() error {
				l, err := netlink.LinkByName(hostVethOf(a))
				if err != nil {
					return err
				}
				return netlink.LinkSetHairpin(l, false)
			})
		}, "hairpin mode false"),
		Entry("gateway address removed from the bridge", func(tb *conformance.Testbed, _ conformance.Attachment) {
			inHost(tb, func() error { return delAddr(podnetBridge, podnetGateway+"/24") })
		}, "lacks gateway address"),
		Entry("reservation removed", func(tb *conformance.Testbed, a conformance.Attachment) {
			Expect(os.Remove(filepath.Join(storeDir(tb), conformance.PodIP(a.Result)))).To(Succeed())
		}, "no IPAM reservation"),
		Entry("reservation moved to another address", func(tb *conformance.Testbed, a conformance.Attachment) {
			dir := storeDir(tb)
			Expect(os.Rename(filepath.Join(dir, conformance.PodIP(a.Result)), filepath.Join(dir, "10.99.1.77"))).To(Succeed())
		}, "IPAM reservation of"),
		Entry("MASQUERADE rule deleted", func(tb *conformance.Testbed, _ conformance.Attachment) {
			inHost(tb, func() error {
				ipt, err := iptables.New()
				if err != nil {
					return err
				}
				return ipt.Delete("nat", "POSTROUTING", "-s", conformance.TestSubnet, "!", "-d", conformance.TestNetwork, "!", "-o", podnetBridge,
					"-m", "comment", "--comment", "podnet: "+conformance.TestNetName, "-j", "MASQUERADE")
			})
		}, "iptables rule missing: nat/POSTROUTING"),
	)

	Describe("GC", func() {
		gc := func(attachments map[string][]types.GCAttachment) cnitest.Response {
			fields := map[string]any{}
			for k, v := range attachments {
				fields[k] = v
			}
			return tb.Run(cnitest.Invocation{Command: "GC", Config: conformance.MustWithFields(tb.Conf, fields)})
		}

		for _, key := range []string{"cni.dev/valid-attachments", "cni.dev/attachments"} {
			It("releases every attachment missing from "+key+" with its host veth, silently", func() {
				keep, stale := tb.Add(tb.NewPod()), tb.Add(tb.NewPod())
				resp := gc(map[string][]types.GCAttachment{key: {{ContainerID: keep.ID, IfName: conformance.TestIfName}}})
				Expect(resp.Failed()).To(BeFalse(), "%s", resp)
				Expect(resp.Stdout).To(BeEmpty())
				tb.ExpectReleased(stale.ID)
				Expect(tb.HostVeths()).To(ConsistOf(hostVethOf(keep)))
				Expect(tb.Check(keep).Failed()).To(BeFalse(), "GC disturbed a valid attachment")
			})
		}

		It("with an empty list of valid attachments releases everything", func() {
			a, b := tb.Add(tb.NewPod()), tb.Add(tb.NewPod())
			resp := gc(map[string][]types.GCAttachment{"cni.dev/valid-attachments": {}})
			Expect(resp.Failed()).To(BeFalse(), "%s", resp)
			tb.ExpectReleased(a.ID)
			tb.ExpectReleased(b.ID)
			Expect(tb.HostVeths()).To(BeEmpty())
		})

		It("without the list (absent or misspelt) is refused and keeps every attachment", func() {
			a, b := tb.Add(tb.NewPod()), tb.Add(tb.NewPod())
			conformance.ExpectCNIError(gc(nil), types.ErrInvalidNetworkConfig)
			conformance.ExpectCNIError(gc(map[string][]types.GCAttachment{"cni.dev/valid-attachment": {}}), types.ErrInvalidNetworkConfig)
			Expect(tb.Check(a).Failed()).To(BeFalse())
			Expect(tb.Check(b).Failed()).To(BeFalse())
		})
	})

	Describe("STATUS", func() {
		It("reports code 50 when the data dir is unusable", func() {
			Expect(os.WriteFile(podnetConfOf(tb).DataDir, []byte("not a dir"), 0o600)).To(Succeed())
			resp := tb.Run(cnitest.Invocation{Command: "STATUS"})
			conformance.ExpectCNIError(resp, codeNotAvailable)
			cniErr, _ := resp.Error()
			Expect(cniErr.Msg).To(ContainSubstring("data directory"))
		})

		It("reports code 50 when the pool is exhausted, and 0 once an address is free", func() {
			tb = conformance.NewTestbed(version.Current(), conformance.WithoutIPv6, conformance.WithSubnet("10.99.1.0/30")) // room for one pod
			a := tb.Add(tb.NewPod())
			resp := tb.Run(cnitest.Invocation{Command: "STATUS"})
			conformance.ExpectCNIError(resp, codeNotAvailable)
			cniErr, _ := resp.Error()
			Expect(cniErr.Msg).To(ContainSubstring("10.99.1.0/30"))
			Expect(tb.Del(a, a.Pod.Path()).Failed()).To(BeFalse())
			Expect(tb.Run(cnitest.Invocation{Command: "STATUS"}).Failed()).To(BeFalse())
		})
	})

	It("logs one line per operation to logFile and nothing but the result to stdout", func() {
		logFile := filepath.Join(tb.Tmp, "podnet.log")
		tb.Conf = conformance.MustWithFields(tb.Conf, map[string]any{"logFile": logFile})
		a := tb.Add(tb.NewPod())
		Expect(tb.Del(a, a.Pod.Path()).Failed()).To(BeFalse())
		failed := tb.Run(cnitest.Invocation{Command: "ADD", ContainerID: a.ID, NetNS: "/no/such/netns"})
		Expect(failed.Failed()).To(BeTrue())

		data, err := os.ReadFile(logFile)
		Expect(err).NotTo(HaveOccurred())
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		Expect(lines).To(HaveLen(3))
		field := func(name string) string { return fmt.Sprintf(`%s=\S+`, name) }
		for i, cmd := range []string{"ADD", "DEL", "ADD"} {
			Expect(lines[i]).To(MatchRegexp(`^\S+ %s container=%s ifname=eth0 ip=\S+ %s outcome=`, cmd, regexp.QuoteMeta(a.ID), field("duration")))
		}
		Expect(lines[0]).To(ContainSubstring("ip=" + conformance.PodIP(a.Result)))
		Expect(lines[0]).To(HaveSuffix(`outcome="ok"`))
		Expect(lines[1]).To(ContainSubstring("ip=" + conformance.PodIP(a.Result)))
		Expect(lines[2]).To(ContainSubstring(`outcome="error: CNI_NETNS \"/no/such/netns\" is not a network namespace`))
	})

	It("answers VERSION with exactly the spec versions it implements", func() {
		Expect(conformance.Config().Versions).To(Equal([]string{"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"}))
	})

	It("results convert to every claimed version without losing the pod address", func() {
		a := tb.Add(tb.NewPod())
		for _, v := range conformance.Config().Versions {
			r, err := a.Result.GetAsVersion(v)
			Expect(err).NotTo(HaveOccurred())
			back, err := current.NewResultFromResult(r)
			Expect(err).NotTo(HaveOccurred())
			Expect(conformance.PodIP(back)).To(Equal(conformance.PodIP(a.Result)))
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
