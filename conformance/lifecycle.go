package conformance

import (
	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/cni/pkg/version"
	"github.com/containernetworking/plugins/pkg/ns"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/vishvananda/netlink"

	"github.com/cnigate/cnigate/cnitest"
)

func atLeast(v, min string) bool {
	ok, err := version.GreaterThanOrEqualTo(v, min)
	Expect(err).NotTo(HaveOccurred())
	return ok
}

// Every spec here runs once per spec version the plugin claims.
var _ = Describe("attachment lifecycle", Label("generic"), func() {
	for _, v := range cfg.Versions {
		Context("cniVersion "+v, func() {
			var tb *Testbed
			BeforeEach(func() { tb = NewTestbed(v) })

			It("ADD configures the pod as its result says, in the requested version", clause("ADD"), func() {
				a := tb.Add(tb.NewPod()) // add() checks the result's cniVersion
				ExpectPodConfigured(tb, a)
				tb.expectReserved(a.ID, "no reservation recorded under the data dir")
			})

			It("a second ADD of the same attachment fails and leaves the first intact", convention("second-add-fails"), func() {
				a := tb.Add(tb.NewPod())
				resp := tb.Run(cnitest.Invocation{Command: "ADD", ContainerID: a.ID, NetNS: a.Pod.Path()})
				Expect(resp.Failed()).To(BeTrue(), "second ADD succeeded: %s", resp)
				_, err := resp.Error()
				Expect(err).NotTo(HaveOccurred())
				ExpectPodConfigured(tb, a)
				tb.expectReserved(a.ID)
			})

			It("DEL removes the interface and releases the address, and succeeds again", clause("DEL"), func() {
				a := tb.Add(tb.NewPod())
				for range 2 {
					resp := tb.Del(a, a.Pod.Path())
					Expect(resp.Failed()).To(BeFalse(), "DEL: %s", resp)
				}
				_, found, err := cnitest.LinkIn(a.Pod, TestIfName)
				Expect(err).NotTo(HaveOccurred())
				Expect(found).To(BeFalse(), "%s still in the pod netns", TestIfName)
				tb.ExpectReleased(a.ID)
				Expect(tb.HostVeths()).To(BeEmpty())
			})

			It("DEL without ADD succeeds and creates nothing", clause("DEL"), func() {
				pod := tb.NewPod()
				resp := tb.Run(cnitest.Invocation{Command: "DEL", ContainerID: NewContainerID(), NetNS: pod.Path()})
				Expect(resp.Failed()).To(BeFalse(), "DEL: %s", resp)
				Expect(cnitest.LinkNames(pod)).To(Equal([]string{"lo"}))
				Expect(tb.HostVeths()).To(BeEmpty())
			})

			It("DEL after the netns is deleted succeeds and releases", clause("DEL"), func() {
				a := tb.Add(tb.NewPod())
				Expect(namespaces.Delete(a.Pod)).To(Succeed())
				resp := tb.Del(a, a.Pod.Path())
				Expect(resp.Failed()).To(BeFalse(), "DEL: %s", resp)
				tb.ExpectReleased(a.ID)
				// The kernel frees a dead netns (and the veth peer) asynchronously.
				Eventually(tb.HostVeths).Should(BeEmpty())
			})

			It("DEL with an empty CNI_NETNS succeeds and releases", clause("DEL"), func() {
				a := tb.Add(tb.NewPod())
				resp := tb.Del(a, "")
				Expect(resp.Failed()).To(BeFalse(), "DEL: %s", resp)
				tb.ExpectReleased(a.ID)
			})

			if atLeast(v, "0.4.0") {
				It("CHECK right after ADD passes", clause("CHECK"), func() {
					a := tb.Add(tb.NewPod())
					resp := tb.Check(a)
					Expect(resp.Failed()).To(BeFalse(), "CHECK: %s", resp)
					Expect(resp.Stdout).To(BeEmpty())
				})

				DescribeTable("CHECK fails once the attachment is tampered with", clause("CHECK"),
					func(tamper func(tb *Testbed, a Attachment)) {
						a := tb.Add(tb.NewPod())
						tamper(tb, a)
						resp := tb.Check(a)
						Expect(resp.Failed()).To(BeTrue(), "CHECK passed after tampering: %s", resp)
						_, err := resp.Error()
						Expect(err).NotTo(HaveOccurred())
					},
					Entry("interface deleted", func(_ *Testbed, a Attachment) {
						InPod(a, netlink.LinkDel)
					}),
					Entry("address removed", func(_ *Testbed, a Attachment) {
						InPod(a, func(l netlink.Link) error {
							return netlink.AddrDel(l, &netlink.Addr{IPNet: &a.Result.IPs[0].Address})
						})
					}),
					Entry("default route removed", func(_ *Testbed, a Attachment) {
						InPod(a, func(l netlink.Link) error {
							return netlink.RouteDel(&netlink.Route{LinkIndex: l.Attrs().Index, Gw: a.Result.IPs[0].Gateway})
						})
					}),
					Entry("reservation removed", func(tb *Testbed, a Attachment) {
						requireIPAMFiles()
						files := tb.reservations(a.ID)
						Expect(files).NotTo(BeEmpty())
						for _, f := range files {
							Expect(removeFile(f)).To(Succeed())
						}
					}),
				)
			} else {
				It("CHECK is refused with code 1 (incompatible version)", clause("VERSION"), func() {
					a := tb.Add(tb.NewPod())
					ExpectCNIError(tb.Check(a), types.ErrIncompatibleCNIVersion)
				})
			}

			if atLeast(v, "1.1.0") {
				It("GC with every attachment valid succeeds, prints nothing and keeps them", clause("GC"), func() {
					a := tb.Add(tb.NewPod())
					conf, err := cnitest.WithFields(tb.Conf, map[string]any{
						"cni.dev/valid-attachments": []types.GCAttachment{{ContainerID: a.ID, IfName: TestIfName}},
					})
					Expect(err).NotTo(HaveOccurred())
					resp := tb.Run(cnitest.Invocation{Command: "GC", Config: conf})
					Expect(resp.Failed()).To(BeFalse(), "GC: %s", resp)
					Expect(resp.Stdout).To(BeEmpty())
					tb.expectReserved(a.ID)
					Expect(tb.Check(a).Failed()).To(BeFalse())
				})

				It("GC with a malformed cni.dev/valid-attachments entry is refused and releases nothing", clause("GC"), func() {
					a := tb.Add(tb.NewPod())
					snapshot := func() cnitest.Snapshot {
						s, err := cnitest.TakeSnapshot(map[string]ns.NetNS{"host": tb.Host, "pod": a.Pod},
							map[string]string{"data dir": tb.Params.DataDir})
						Expect(err).NotTo(HaveOccurred())
						return s
					}
					for _, bad := range MalformedGCEntries(a.ID) {
						By("GC with " + bad.what)
						conf := MustWithFields(tb.Conf, map[string]any{"cni.dev/valid-attachments": []any{bad.Entry}})
						before := snapshot()
						resp := tb.Run(cnitest.Invocation{Command: "GC", Config: conf})
						Expect(before.Diff(snapshot())).To(BeEmpty(),
							"GC with %s changed the node (+ appeared, - went away): the live attachment's entry is malformed, not absent", bad.what)
						Expect(resp.Failed()).To(BeTrue(), "GC with %s succeeded: an entry without both containerID and ifname is invalid input", bad.what)
						_, err := resp.Error()
						Expect(err).NotTo(HaveOccurred(), "GC with %s", bad.what)
					}
					tb.expectReserved(a.ID)
					Expect(tb.Check(a).Failed()).To(BeFalse(), "the live attachment was disturbed")
				})

				It("STATUS succeeds and prints nothing", clause("STATUS"), func() {
					resp := tb.Run(cnitest.Invocation{Command: "STATUS"})
					Expect(resp.Failed()).To(BeFalse(), "STATUS: %s", resp)
					Expect(resp.Stdout).To(BeEmpty())
				})
			} else {
				It("GC and STATUS are refused with code 1 (incompatible version)", clause("VERSION"), func() {
					for _, cmd := range []string{"GC", "STATUS"} {
						ExpectCNIError(tb.Run(cnitest.Invocation{Command: cmd}), types.ErrIncompatibleCNIVersion)
					}
				})
			}
		})
	}

	It("VERSION lists the versions exercised above", clause("VERSION"), func() {
		Expect(cfg.Versions).NotTo(BeEmpty())
		for _, v := range cfg.Versions {
			_, _, _, err := version.ParseVersion(v)
			Expect(err).NotTo(HaveOccurred(), "VERSION claims %q", v)
		}
	})
})

// malformedGCEntry is a cni.dev/valid-attachments entry naming a live
// attachment the way a buggy runtime might: the SPEC makes each entry an
// object with both "containerID" and "ifname" (strings), so none of these
// is valid, and a plugin that reads one as "matches nothing" releases the
// live attachment.
type malformedGCEntry struct {
	what  string
	Entry any
}

// MalformedGCEntries are GC entries naming the attachment id, each malformed another way.
func MalformedGCEntries(id string) []malformedGCEntry {
	return []malformedGCEntry{
		{"an entry without ifname", map[string]any{"containerID": id}},
		{"an entry without containerID", map[string]any{"ifname": TestIfName}},
		{"an empty entry {}", map[string]any{}},
		{`a misspelt key ("ifName")`, map[string]any{"containerID": id, "ifName": TestIfName}},
		{`a misspelt key ("containerId")`, map[string]any{"containerId": id, "ifname": TestIfName}},
		{"an empty ifname", map[string]any{"containerID": id, "ifname": ""}},
		{"an entry that is a string", id},
	}
}

// InPod runs f on the pod's interface inside its netns.
func InPod(a Attachment, f func(netlink.Link) error) {
	GinkgoHelper()
	Expect(cnitest.InNS(a.Pod, func() error {
		l, err := netlink.LinkByName(TestIfName)
		if err != nil {
			return err
		}
		return f(l)
	})).To(Succeed())
}
