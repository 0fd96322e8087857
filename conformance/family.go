package conformance

import (
	"context"
	"net"
	"time"

	"github.com/containernetworking/cni/pkg/version"
	"github.com/containernetworking/plugins/pkg/ns"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/vishvananda/netlink"

	"github.com/cnigate/cnigate/cnitest"
)

// The specs where the address family matters run once per family the
// profile claims (dataPath.families), each labelled family:ipv4 or
// family:ipv6: a plugin that claims IPv6 and hands out only IPv4 fails
// every family:ipv6 spec. The rest of the suite (the error contract above
// all) runs once, with every claimed family configured.
var _ = Describe("address family", Label("generic"), func() {
	for _, family := range cfg.profile.DataPath.families() {
		Context(family, Label("family:"+family), func() {
			var tb *Testbed
			BeforeEach(func() { tb = NewTestbed(version.Current()) })

			It("ADD puts the result's address of the family on the interface and a default route via its gateway; DEL releases it", clause("ADD", "DEL"), func() {
				a := tb.Add(tb.NewPod())
				ipc := ResultIP(a.Result, family)
				link, found, err := cnitest.LinkIn(a.Pod, TestIfName)
				Expect(err).NotTo(HaveOccurred())
				Expect(found).To(BeTrue(), "%s missing from the pod netns", TestIfName)
				addrs, gateway := familyLink(link, family)
				Expect(addrs).To(ContainElement(ipc.Address.String()), "%s address of the result on %s", family, TestIfName)
				if cfg.profile.DataPath.gateway() {
					Expect(ipc.Gateway).NotTo(BeNil(), "the result names no %s gateway (profile dataPath.gateway)", family)
					Expect(gateway).NotTo(BeNil(), "no %s default route via %s", family, TestIfName)
					Expect(gateway.String()).To(Equal(ipc.Gateway.String()), "%s default route gateway", family)
				}
				tb.expectReserved(a.ID)

				Expect(tb.Del(a, a.Pod.Path()).Failed()).To(BeFalse())
				tb.ExpectReleased(a.ID)
			})

			It("CHECK fails once the interface's address of the family is removed", clause("CHECK"), func() {
				a := tb.Add(tb.NewPod())
				ipc := ResultIP(a.Result, family)
				InPod(a, func(l netlink.Link) error { return netlink.AddrDel(l, &netlink.Addr{IPNet: &ipc.Address}) })
				resp := tb.Check(a)
				Expect(resp.Failed()).To(BeTrue(), "CHECK passed without the %s address: %s", family, resp)
				_, err := resp.Error()
				Expect(err).NotTo(HaveOccurred())
			})

			It("CHECK fails once the default route of the family is removed", clause("CHECK"), func() {
				requireGateway()
				a := tb.Add(tb.NewPod())
				ipc := ResultIP(a.Result, family)
				Expect(ipc.Gateway).NotTo(BeNil(), "the result names no %s gateway", family)
				InPod(a, func(l netlink.Link) error {
					return netlink.RouteDel(&netlink.Route{LinkIndex: l.Attrs().Index, Dst: defaultDst(family), Gw: ipc.Gateway})
				})
				resp := tb.Check(a)
				Expect(resp.Failed()).To(BeTrue(), "CHECK passed without the %s default route: %s", family, resp)
				_, err := resp.Error()
				Expect(err).NotTo(HaveOccurred())
			})

			It("pods on one node reach each other over the family (ICMP echo, TCP)", convention("same-node-l2"), func() {
				if !cfg.profile.DataPath.sameNodeL2() {
					Skip("profile: dataPath.sameNodeL2 is false (pods of one node are not promised to reach each other)")
				}
				requireAttachments(2)
				a, b := tb.Add(tb.NewPod()), tb.Add(tb.NewPod())
				ipA, ipB := ResultIP(a.Result, family).Address.IP, ResultIP(b.Result, family).Address.IP
				Eventually(probe(a, ipB)).WithTimeout(10*time.Second).Should(Succeed(), "ICMP echo a -> b over %s", family)
				Eventually(probe(b, ipA)).WithTimeout(10*time.Second).Should(Succeed(), "ICMP echo b -> a over %s", family)
				expectTCP(a, b.Pod, ipB)
			})

			It("a pod reaches the gateway of the family its result names (ICMP echo, TCP)", convention("gateway"), func() {
				requireGateway()
				a := tb.Add(tb.NewPod())
				gateway := ResultIP(a.Result, family).Gateway
				Expect(gateway).NotTo(BeNil(), "the result names no %s gateway", family)
				Eventually(probe(a, gateway)).WithTimeout(10*time.Second).Should(Succeed(), "ICMP echo a -> %s gateway", family)
				expectTCP(a, tb.Host, gateway) // the gateway is in the host netns (profile dataPath.gateway)
			})

			// IPv4's pool exhaustion is the "pool exhaustion" specs; these
			// exhaust the IPv6 pool while IPv4 has room, so the plugin must
			// give back the IPv4 address it reserved first.
			if family == "ipv6" {
				const smallSubnet6 = "fd00:10:99:1::/125" // 8 addresses
				It("the ADD past the end of the IPv6 pool fails with a CNI error, keeps no reservation in any family, and a DEL makes room again", clause("errors"), func() {
					requireAttachments(2)
					tb := NewTestbed(version.Current(), withSubnet6(smallSubnet6))
					added, failedID, _, failure := fillPool(tb)
					_, err := failure.Error()
					Expect(err).NotTo(HaveOccurred(), "exhaustion must be reported as a CNI error")
					tb.ExpectReleased(failedID, "the failed ADD kept a reservation (its IPv4 address?)")

					Expect(tb.Del(added[0], added[0].Pod.Path()).Failed()).To(BeFalse())
					again := tb.Add(tb.NewPod())
					Expect(ResultIP(again.Result, "ipv6").Address.IP.String()).To(Equal(ResultIP(added[0].Result, "ipv6").Address.IP.String()),
						"the released IPv6 address is handed out again")
				})

				It("the ADD past the end of the IPv6 pool leaves no link behind", Label("rollback"), convention("rollback"), func() {
					requireAttachments(2)
					tb := NewTestbed(version.Current(), withSubnet6(smallSubnet6))
					_, _, failedPod, _ := fillPool(tb)
					Expect(cnitest.LinkNames(failedPod)).To(Equal([]string{"lo"}), "the failed ADD left an interface in the pod")
				})
			}
		})
	}
})

// familyLink is the link's addresses and default gateway of family.
func familyLink(l cnitest.Link, family string) ([]string, net.IP) {
	if family == "ipv6" {
		return l.Addrs6, l.DefaultGateway6
	}
	return l.Addrs, l.DefaultGateway
}

func defaultDst(family string) *net.IPNet {
	if family == "ipv6" {
		return &net.IPNet{IP: net.IPv6zero, Mask: net.CIDRMask(0, 128)}
	}
	return &net.IPNet{IP: net.IPv4zero.To4(), Mask: net.CIDRMask(0, 32)}
}

// expectTCP connects from pod a to a listener on ip inside server's netns.
func expectTCP(a Attachment, server ns.NetNS, ip net.IP) {
	GinkgoHelper()
	ln, err := cnitest.ListenTCP(server, net.JoinHostPort(ip.String(), "8080"))
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(ln.Close)
	Eventually(func() (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		return cnitest.DialTCP(ctx, a.Pod, ln.Addr().String())
	}).WithTimeout(10*time.Second).Should(ContainSubstring("hello from"), "TCP to %s", ip)
}

// fillPool ADDs pods until one fails (at most 16) and returns the
// successes and the failure.
func fillPool(tb *Testbed) (added []Attachment, failedID string, failedPod ns.NetNS, failure cnitest.Response) {
	GinkgoHelper()
	for range 16 {
		pod := tb.NewPod()
		id := NewContainerID()
		resp := tb.Run(cnitest.Invocation{Command: "ADD", ContainerID: id, NetNS: pod.Path()})
		if resp.Failed() {
			Expect(added).NotTo(BeEmpty(), "the first ADD failed: %s", resp)
			return added, id, pod, resp
		}
		result, err := resp.Result(tb.Params.CNIVersion)
		Expect(err).NotTo(HaveOccurred())
		added = append(added, Attachment{ID: id, Pod: pod, Result: result})
	}
	Fail("16 ADDs into a small pool all succeeded")
	return
}
