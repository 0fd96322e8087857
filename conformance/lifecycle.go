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
	for _, v := range cfg.versions {
		Context("cniVersion "+v, func() {
			var tb *testbed
			BeforeEach(func() { tb = newTestbed(v) })

			It("ADD configures the pod as its result says, in the requested version", clause("ADD"), func() {
				a := tb.add(tb.newPod()) // add() checks the result's cniVersion
				expectPodConfigured(tb, a)
				tb.expectReserved(a.id, "no reservation recorded under the data dir")
			})

			It("a second ADD of the same attachment fails and leaves the first intact", convention("second-add-fails"), func() {
				a := tb.add(tb.newPod())
				resp := tb.run(cnitest.Invocation{Command: "ADD", ContainerID: a.id, NetNS: a.pod.Path()})
				Expect(resp.Failed()).To(BeTrue(), "second ADD succeeded: %s", resp)
				_, err := resp.Error()
				Expect(err).NotTo(HaveOccurred())
				expectPodConfigured(tb, a)
				tb.expectReserved(a.id)
			})

			It("DEL removes the interface and releases the address, and succeeds again", clause("DEL"), func() {
				a := tb.add(tb.newPod())
				for range 2 {
					resp := tb.del(a, a.pod.Path())
					Expect(resp.Failed()).To(BeFalse(), "DEL: %s", resp)
				}
				_, found, err := cnitest.LinkIn(a.pod, testIfName)
				Expect(err).NotTo(HaveOccurred())
				Expect(found).To(BeFalse(), "%s still in the pod netns", testIfName)
				tb.expectReleased(a.id)
				Expect(tb.hostVeths()).To(BeEmpty())
			})

			It("DEL without ADD succeeds and creates nothing", clause("DEL"), func() {
				pod := tb.newPod()
				resp := tb.run(cnitest.Invocation{Command: "DEL", ContainerID: newContainerID(), NetNS: pod.Path()})
				Expect(resp.Failed()).To(BeFalse(), "DEL: %s", resp)
				Expect(cnitest.LinkNames(pod)).To(Equal([]string{"lo"}))
				Expect(tb.hostVeths()).To(BeEmpty())
			})

			It("DEL after the netns is deleted succeeds and releases", clause("DEL"), func() {
				a := tb.add(tb.newPod())
				Expect(namespaces.Delete(a.pod)).To(Succeed())
				resp := tb.del(a, a.pod.Path())
				Expect(resp.Failed()).To(BeFalse(), "DEL: %s", resp)
				tb.expectReleased(a.id)
				// The kernel frees a dead netns (and the veth peer) asynchronously.
				Eventually(tb.hostVeths).Should(BeEmpty())
			})

			It("DEL with an empty CNI_NETNS succeeds and releases", clause("DEL"), func() {
				a := tb.add(tb.newPod())
				resp := tb.del(a, "")
				Expect(resp.Failed()).To(BeFalse(), "DEL: %s", resp)
				tb.expectReleased(a.id)
			})

			if atLeast(v, "0.4.0") {
				It("CHECK right after ADD passes", clause("CHECK"), func() {
					a := tb.add(tb.newPod())
					resp := tb.check(a)
					Expect(resp.Failed()).To(BeFalse(), "CHECK: %s", resp)
					Expect(resp.Stdout).To(BeEmpty())
				})

				DescribeTable("CHECK fails once the attachment is tampered with", clause("CHECK"),
					func(tamper func(tb *testbed, a attachment)) {
						a := tb.add(tb.newPod())
						tamper(tb, a)
						resp := tb.check(a)
						Expect(resp.Failed()).To(BeTrue(), "CHECK passed after tampering: %s", resp)
						_, err := resp.Error()
						Expect(err).NotTo(HaveOccurred())
					},
					Entry("interface deleted", func(_ *testbed, a attachment) {
						inPod(a, netlink.LinkDel)
					}),
					Entry("address removed", func(_ *testbed, a attachment) {
						inPod(a, func(l netlink.Link) error {
							return netlink.AddrDel(l, &netlink.Addr{IPNet: &a.result.IPs[0].Address})
						})
					}),
					Entry("default route removed", func(_ *testbed, a attachment) {
						inPod(a, func(l netlink.Link) error {
							return netlink.RouteDel(&netlink.Route{LinkIndex: l.Attrs().Index, Gw: a.result.IPs[0].Gateway})
						})
					}),
					Entry("reservation removed", func(tb *testbed, a attachment) {
						requireIPAMFiles()
						files := tb.reservations(a.id)
						Expect(files).NotTo(BeEmpty())
						for _, f := range files {
							Expect(removeFile(f)).To(Succeed())
						}
					}),
				)
			} else {
				It("CHECK is refused with code 1 (incompatible version)", clause("VERSION"), func() {
					a := tb.add(tb.newPod())
					expectCNIError(tb.check(a), types.ErrIncompatibleCNIVersion)
				})
			}

			if atLeast(v, "1.1.0") {
				It("GC with every attachment valid succeeds, prints nothing and keeps them", clause("GC"), func() {
					a := tb.add(tb.newPod())
					conf, err := cnitest.WithFields(tb.conf, map[string]any{
						"cni.dev/valid-attachments": []types.GCAttachment{{ContainerID: a.id, IfName: testIfName}},
					})
					Expect(err).NotTo(HaveOccurred())
					resp := tb.run(cnitest.Invocation{Command: "GC", Config: conf})
					Expect(resp.Failed()).To(BeFalse(), "GC: %s", resp)
					Expect(resp.Stdout).To(BeEmpty())
					tb.expectReserved(a.id)
					Expect(tb.check(a).Failed()).To(BeFalse())
				})

				It("GC with a malformed cni.dev/valid-attachments entry is refused and releases nothing", clause("GC"), func() {
					a := tb.add(tb.newPod())
					snapshot := func() cnitest.Snapshot {
						s, err := cnitest.TakeSnapshot(map[string]ns.NetNS{"host": tb.host, "pod": a.pod},
							map[string]string{"data dir": tb.params.DataDir})
						Expect(err).NotTo(HaveOccurred())
						return s
					}
					for _, bad := range malformedGCEntries(a.id) {
						By("GC with " + bad.what)
						conf := mustWithFields(tb.conf, map[string]any{"cni.dev/valid-attachments": []any{bad.entry}})
						before := snapshot()
						resp := tb.run(cnitest.Invocation{Command: "GC", Config: conf})
						Expect(before.Diff(snapshot())).To(BeEmpty(),
							"GC with %s changed the node (+ appeared, - went away): the live attachment's entry is malformed, not absent", bad.what)
						Expect(resp.Failed()).To(BeTrue(), "GC with %s succeeded: an entry without both containerID and ifname is invalid input", bad.what)
						_, err := resp.Error()
						Expect(err).NotTo(HaveOccurred(), "GC with %s", bad.what)
					}
					tb.expectReserved(a.id)
					Expect(tb.check(a).Failed()).To(BeFalse(), "the live attachment was disturbed")
				})

				It("STATUS succeeds and prints nothing", clause("STATUS"), func() {
					resp := tb.run(cnitest.Invocation{Command: "STATUS"})
					Expect(resp.Failed()).To(BeFalse(), "STATUS: %s", resp)
					Expect(resp.Stdout).To(BeEmpty())
				})
			} else {
				It("GC and STATUS are refused with code 1 (incompatible version)", clause("VERSION"), func() {
					for _, cmd := range []string{"GC", "STATUS"} {
						expectCNIError(tb.run(cnitest.Invocation{Command: cmd}), types.ErrIncompatibleCNIVersion)
					}
				})
			}
		})
	}

	It("VERSION lists the versions exercised above", clause("VERSION"), func() {
		Expect(cfg.versions).NotTo(BeEmpty())
		for _, v := range cfg.versions {
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
	entry any
}

func malformedGCEntries(id string) []malformedGCEntry {
	return []malformedGCEntry{
		{"an entry without ifname", map[string]any{"containerID": id}},
		{"an entry without containerID", map[string]any{"ifname": testIfName}},
		{"an empty entry {}", map[string]any{}},
		{`a misspelt key ("ifName")`, map[string]any{"containerID": id, "ifName": testIfName}},
		{`a misspelt key ("containerId")`, map[string]any{"containerId": id, "ifname": testIfName}},
		{"an empty ifname", map[string]any{"containerID": id, "ifname": ""}},
		{"an entry that is a string", id},
	}
}

// inPod runs f on the pod's interface inside its netns.
func inPod(a attachment, f func(netlink.Link) error) {
	GinkgoHelper()
	Expect(cnitest.InNS(a.pod, func() error {
		l, err := netlink.LinkByName(testIfName)
		if err != nil {
			return err
		}
		return f(l)
	})).To(Succeed())
}
