package podnetspecs

import (
	"os"
	"path/filepath"
	"time"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/cni/pkg/version"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/cnigate/cnigate/cnitest"
	"github.com/cnigate/cnigate/conformance"
)

// What podnet promises against an unlucky or hostile runtime, operator or
// local user (issue 8), and its hairpin mode (issue 7).
var _ = Describe("podnet under a hostile or unlucky runtime", Label("podnet"), func() {
	var tb *conformance.Testbed
	BeforeEach(func() { tb = conformance.NewTestbed(version.Current(), conformance.WithoutIPv6) }) // the tutorial's IPv4-only conf

	Describe("more than one attachment per pod", func() {
		It("a second interface in the pod gets its address and no second default route; its DEL leaves the first intact", func() {
			pod := tb.NewPod()
			first := tb.Add(pod)
			resp := tb.Run(cnitest.Invocation{Command: "ADD", ContainerID: first.ID, NetNS: pod.Path(), IfName: "eth1"})
			Expect(resp.Failed()).To(BeFalse(), "ADD of eth1: %s", resp)
			second, err := resp.Result(tb.Params.CNIVersion)
			Expect(err).NotTo(HaveOccurred())
			Expect(second.Routes).To(BeEmpty(), "the pod already had a default route: the result lists only the routes added")
			Expect(conformance.PodIP(second)).NotTo(Equal(conformance.PodIP(first.Result)))

			eth1, found, err := cnitest.LinkIn(pod, "eth1")
			Expect(err).NotTo(HaveOccurred())
			Expect(found).To(BeTrue(), "eth1 missing from the pod")
			Expect(eth1.Up).To(BeTrue())
			Expect(eth1.Addrs).To(ContainElement(second.IPs[0].Address.String()))
			Expect(eth1.DefaultGateway).To(BeNil(), "a second default route via eth1")
			conformance.ExpectPodConfigured(tb, first)

			prev, err := second.GetAsVersion(tb.Params.CNIVersion)
			Expect(err).NotTo(HaveOccurred())
			check := tb.Run(cnitest.Invocation{Command: "CHECK", ContainerID: first.ID, NetNS: pod.Path(), IfName: "eth1",
				Config: conformance.MustWithFields(tb.Conf, map[string]any{"prevResult": prev})})
			Expect(check.Failed()).To(BeFalse(), "CHECK of eth1: %s", check)

			del := tb.Run(cnitest.Invocation{Command: "DEL", ContainerID: first.ID, NetNS: pod.Path(), IfName: "eth1"})
			Expect(del.Failed()).To(BeFalse(), "DEL of eth1: %s", del)
			_, found, err = cnitest.LinkIn(pod, "eth1")
			Expect(err).NotTo(HaveOccurred())
			Expect(found).To(BeFalse())
			conformance.ExpectPodConfigured(tb, first)
			Expect(tb.Check(first).Failed()).To(BeFalse(), "DEL of eth1 disturbed eth0")
		})

		It("the same container ID and ifname in a second network is a separate attachment: neither ADD nor DEL there touches the first", func() {
			first := tb.Add(tb.NewPod())
			other := conformance.MustWithFields(tb.Conf, map[string]any{"name": "other", "subnet": "10.99.2.0/24", "bridge": "cni1"})
			pod := tb.NewPod()
			resp := tb.Run(cnitest.Invocation{Command: "ADD", ContainerID: first.ID, NetNS: pod.Path(), Config: other})
			Expect(resp.Failed()).To(BeFalse(), "ADD in the second network: %s", resp)
			second, err := resp.Result(tb.Params.CNIVersion)
			Expect(err).NotTo(HaveOccurred())
			Expect(second.Interfaces[1].Name).NotTo(Equal(hostVethOf(first)), "host veth names must differ per network")
			Expect(tb.Check(first).Failed()).To(BeFalse(), "ADD in the second network disturbed the first")

			del := tb.Run(cnitest.Invocation{Command: "DEL", ContainerID: first.ID, NetNS: pod.Path(), Config: other})
			Expect(del.Failed()).To(BeFalse(), "DEL in the second network: %s", del)
			Expect(tb.Check(first).Failed()).To(BeFalse(), "DEL in the second network disturbed the first")
			hostLink(tb, hostVethOf(first))
		})
	})

	Describe("store", func() {
		It("hands addresses out round-robin: a just-released address is not reused at once", func() {
			a := tb.Add(tb.NewPod())
			Expect(tb.Del(a, a.Pod.Path()).Failed()).To(BeFalse())
			b := tb.Add(tb.NewPod())
			Expect(conformance.PodIP(b.Result)).NotTo(Equal(conformance.PodIP(a.Result)), "the address released a moment ago was handed out again")
			Expect(conformance.PodIP(b.Result)).To(Equal("10.99.1.3"), "the next address after the last one given")
		})

		It("repairs the store directory's mode", func() {
			tb.Add(tb.NewPod())
			Expect(os.Chmod(storeDir(tb), 0o755)).To(Succeed())
			tb.Add(tb.NewPod())
			st, err := os.Stat(storeDir(tb))
			Expect(err).NotTo(HaveOccurred())
			Expect(st.Mode().Perm()).To(Equal(os.FileMode(0o700)))
		})

		It("refuses a store directory that is a symlink, and never touches where it points", func() {
			elsewhere := filepath.Join(tb.Tmp, "elsewhere")
			Expect(os.Mkdir(elsewhere, 0o700)).To(Succeed())
			Expect(os.WriteFile(filepath.Join(elsewhere, "10.99.1.2"), []byte("precious\n"), 0o600)).To(Succeed())
			Expect(os.MkdirAll(tb.Params.DataDir, 0o700)).To(Succeed())
			Expect(os.Symlink(elsewhere, storeDir(tb))).To(Succeed())
			snapshot := func() cnitest.Snapshot {
				s, err := cnitest.TakeSnapshot(nil, map[string]string{"elsewhere": elsewhere, "data dir": tb.Params.DataDir})
				Expect(err).NotTo(HaveOccurred())
				return s
			}
			before := snapshot()
			pod := tb.NewPod()
			conformance.ExpectCNIError(tb.Run(cnitest.Invocation{Command: "ADD", ContainerID: conformance.NewContainerID(), NetNS: pod.Path()}), types.ErrIOFailure)
			Expect(cnitest.LinkNames(pod)).To(Equal([]string{"lo"}))
			gc := tb.Run(cnitest.Invocation{Command: "GC", Config: conformance.MustWithFields(tb.Conf,
				map[string]any{"cni.dev/valid-attachments": []types.GCAttachment{}})})
			Expect(gc.Failed()).To(BeTrue(), "GC through a symlinked store succeeded: %s", gc)
			Expect(before.Diff(snapshot())).To(BeEmpty())
		})

		It("refuses a lock file that is a dangling symlink, and does not create its target", func() {
			tb.Add(tb.NewPod())
			target := filepath.Join(tb.Tmp, "lock-target")
			lock := filepath.Join(storeDir(tb), "lock")
			Expect(os.Remove(lock)).To(Succeed())
			Expect(os.Symlink(target, lock)).To(Succeed())
			pod := tb.NewPod()
			before := tb.Snapshot(pod)
			conformance.ExpectCNIError(tb.Run(cnitest.Invocation{Command: "ADD", ContainerID: conformance.NewContainerID(), NetNS: pod.Path()}), types.ErrIOFailure)
			_, err := os.Lstat(target)
			Expect(os.IsNotExist(err)).To(BeTrue(), "the lock symlink's target was created")
			Expect(before.Diff(tb.Snapshot(pod))).To(BeEmpty())
		})

		It("does not read an oversized reservation file whole", func() {
			first := tb.Add(tb.NewPod())
			// Sparse: costs no disk, but 1 GiB of memory to a plugin that reads it whole.
			planted := filepath.Join(storeDir(tb), "10.99.1.50")
			f, err := os.OpenFile(planted, os.O_CREATE|os.O_WRONLY, 0o600)
			Expect(err).NotTo(HaveOccurred())
			Expect(f.Truncate(1 << 30)).To(Succeed())
			Expect(f.Close()).To(Succeed())

			pod := tb.NewPod()
			resp := tb.Run(cnitest.Invocation{Command: "ADD", ContainerID: conformance.NewContainerID(), NetNS: pod.Path()})
			Expect(resp.Failed()).To(BeFalse(), "ADD next to a corrupt reservation file: %s", resp)
			Expect(resp.MaxRSSKiB).To(BeNumerically("<", 256<<10), "peak RSS of the ADD (KiB; bound includes the suite's own)")
			del := tb.Del(first, first.Pod.Path())
			Expect(del.Failed()).To(BeFalse(), "DEL: %s", del)
			Expect(del.MaxRSSKiB).To(BeNumerically("<", 256<<10), "peak RSS of the DEL (KiB)")
		})

		It("while another process holds the store lock, STATUS answers without waiting and ADD gives up with code 11, changing nothing", func() {
			tb.Add(tb.NewPod())
			f, err := os.OpenFile(filepath.Join(storeDir(tb), "lock"), os.O_RDWR, 0)
			Expect(err).NotTo(HaveOccurred())
			DeferCleanup(f.Close)
			Expect(unix.Flock(int(f.Fd()), unix.LOCK_EX)).To(Succeed())

			// A STATUS that waited for the lock would outlive this (podnet's
			// lock bound is 10 s) and be killed: a liveness check, not a timing.
			tb.Timeout = 5 * time.Second
			status := tb.Run(cnitest.Invocation{Command: "STATUS"})
			Expect(status.Failed()).To(BeFalse(), "STATUS while the store is locked: %s", status)

			tb.Timeout = time.Minute
			pod := tb.NewPod()
			before := tb.Snapshot(pod)
			resp := tb.Run(cnitest.Invocation{Command: "ADD", ContainerID: conformance.NewContainerID(), NetNS: pod.Path()})
			conformance.ExpectCNIError(resp, types.ErrTryAgainLater)
			Expect(before.Diff(tb.Snapshot(pod))).To(BeEmpty())
		})
	})

	DescribeTable("STATUS tells the truth: code 50 when every ADD would fail",
		func(setup func() cnitest.Invocation) {
			inv := setup()
			inv.Command = "STATUS"
			conformance.ExpectCNIError(tb.Run(inv), codeNotAvailable)
		},
		Entry("ipMasq on and no iptables in PATH", func() cnitest.Invocation {
			return cnitest.Invocation{Env: []string{"CNI_COMMAND=STATUS", "CNI_PATH=" + conformance.Config().Plugin.CNIPath, "PATH=/nonexistent"}}
		}),
		Entry("dataDir on a filesystem without free inodes", func() cnitest.Invocation {
			full := filepath.Join(tb.Tmp, "full")
			Expect(os.Mkdir(full, 0o700)).To(Succeed())
			Expect(unix.Mount("tmpfs", full, "tmpfs", 0, "nr_inodes=4,size=1m")).To(Succeed())
			DeferCleanup(unix.Unmount, full, 0)
			return cnitest.Invocation{Config: conformance.MustWithFields(tb.Conf, map[string]any{"dataDir": filepath.Join(full, "data")})}
		}),
		Entry("bridge naming a device that is not a bridge", func() cnitest.Invocation {
			inHost(tb, func() error {
				attrs := netlink.NewLinkAttrs()
				attrs.Name = podnetBridge
				return netlink.LinkAdd(&netlink.Veth{LinkAttrs: attrs, PeerName: "not-a-bridge"})
			})
			return cnitest.Invocation{}
		}),
	)

	It("STATUS with ipMasq off needs no iptables", func() {
		conf := conformance.MustWithFields(tb.Conf, map[string]any{"ipMasq": false})
		resp := tb.Run(cnitest.Invocation{Config: conf,
			Env: []string{"CNI_COMMAND=STATUS", "CNI_PATH=" + conformance.Config().Plugin.CNIPath, "PATH=/nonexistent"}})
		Expect(resp.Failed()).To(BeFalse(), "%s", resp)
	})

	Describe("hairpin mode", func() {
		It("is on for the host veth by default", func() {
			a := tb.Add(tb.NewPod())
			Expect(hostLink(tb, hostVethOf(a)).Hairpin).To(BeTrue())
		})

		It("is off with hairpinMode false, and CHECK passes", func() {
			tb.Conf = conformance.MustWithFields(tb.Conf, map[string]any{"hairpinMode": false})
			a := tb.Add(tb.NewPod())
			Expect(hostLink(tb, hostVethOf(a)).Hairpin).To(BeFalse())
			Expect(tb.Check(a).Failed()).To(BeFalse())
		})
	})
})
