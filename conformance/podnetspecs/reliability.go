package podnetspecs

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/cni/pkg/version"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"golang.org/x/sys/unix"

	"github.com/cnigate/cnigate/cnitest"
	"github.com/cnigate/cnigate/conformance"
)

// What issue 21's black-box attack still broke: two networks on one bridge,
// temporary files of killed writers, DEL on a full disk, planted store
// entries STATUS did not see, and container IDs past the store's bound.
// (Malformed GC lists are rows of the podnet error contract.)
var _ = Describe("podnet reliability", Label("podnet"), func() {
	var tb *conformance.Testbed
	BeforeEach(func() { tb = conformance.NewTestbed(version.Current(), conformance.WithoutIPv6) }) // the tutorial's IPv4-only conf

	status := func(conf []byte) cnitest.Response {
		GinkgoHelper()
		return tb.Run(cnitest.Invocation{Command: "STATUS", Config: conf})
	}

	It("a second network on a bridge whose network holds addresses is refused with code 7 naming it, and STATUS says 50; once that network's pods are gone the bridge passes to the second", func() {
		first := tb.Add(tb.NewPod())
		// A conflist left over from a rename: another name, the same subnet, bridge and dataDir.
		renamed := conformance.MustWithFields(tb.Conf, map[string]any{"name": "renamed"})
		pod := tb.NewPod()
		before := tb.Snapshot(first.Pod, pod)
		id := conformance.NewContainerID()
		resp := tb.Run(cnitest.Invocation{Command: "ADD", ContainerID: id, NetNS: pod.Path(), Config: renamed})
		conformance.ExpectCNIError(resp, types.ErrInvalidNetworkConfig)
		cniErr, _ := resp.Error()
		Expect(cniErr.Msg).To(And(ContainSubstring(`"bridge"`), ContainSubstring(`"`+conformance.TestNetName+`"`)), "the error names the field and the other network")
		Expect(before.Diff(tb.Snapshot(first.Pod, pod))).To(BeEmpty(), "the refused ADD changed the node")
		conformance.ExpectCNIError(status(renamed), codeNotAvailable)
		Expect(status(tb.Conf).Failed()).To(BeFalse(), "STATUS of the bridge's own network")
		Expect(tb.Check(first).Failed()).To(BeFalse(), "the first network's attachment was disturbed")

		By("the first network's last DEL hands the bridge over")
		Expect(tb.Del(first, first.Pod.Path()).Failed()).To(BeFalse())
		Expect(status(renamed).Failed()).To(BeFalse(), "STATUS once the bridge is free")
		second := tb.Run(cnitest.Invocation{Command: "ADD", ContainerID: id, NetNS: pod.Path(), Config: renamed})
		Expect(second.Failed()).To(BeFalse(), "ADD in the renamed network once the old one is empty: %s", second)
		old := tb.Run(cnitest.Invocation{Command: "ADD", ContainerID: conformance.NewContainerID(), NetNS: tb.NewPod().Path()})
		conformance.ExpectCNIError(old, types.ErrInvalidNetworkConfig)
		cniErr, _ = old.Error()
		Expect(cniErr.Msg).To(ContainSubstring(`"renamed"`))
	})

	It("GC removes the temporary files of dead writers (an older podnet's .<record>-<pid>), keeps a live writer's, and DEL removes the store's fixed-name ones", func() {
		a := tb.Add(tb.NewPod())
		dir := storeDir(tb)
		dead := deadPID()
		stale := []string{fmt.Sprintf(".bridge.pinned-%d", dead), fmt.Sprintf(".rules.verified-%d", dead), ".reserving", ".att", ".record"}
		live := fmt.Sprintf(".bridge.pinned-%d", os.Getpid())
		for _, name := range append(stale, live) {
			Expect(os.WriteFile(filepath.Join(dir, name), []byte("half writ"), 0o600)).To(Succeed())
		}
		Expect(tb.Del(a, a.Pod.Path()).Failed()).To(BeFalse())
		Expect(dotFiles(dir)).NotTo(ContainElements(".reserving", ".att", ".record"), "DEL left the store's own temporary files")
		gc := tb.Run(cnitest.Invocation{Command: "GC", Config: conformance.MustWithFields(tb.Conf, map[string]any{"cni.dev/valid-attachments": []any{}})})
		Expect(gc.Failed()).To(BeFalse(), "GC: %s", gc)
		Expect(dotFiles(dir)).To(ConsistOf(live), "after GC: only the live writer's temporary file stays")
	})

	It("DEL on a full disk succeeds in a store without the index marker: for an attachment never added, and for one added, which it releases", func() {
		full := filepath.Join(tb.Tmp, "full")
		Expect(os.Mkdir(full, 0o700)).To(Succeed())
		Expect(unix.Mount("tmpfs", full, "tmpfs", 0, "size=256k")).To(Succeed())
		DeferCleanup(unix.Unmount, full, 0)
		dataDir := filepath.Join(full, "data")
		tb.Conf = conformance.MustWithFields(tb.Conf, map[string]any{"dataDir": dataDir})
		a := tb.Add(tb.NewPod())
		// An older podnet's store: no index marker, no index entries.
		store := filepath.Join(dataDir, conformance.TestNetName)
		entries, err := os.ReadDir(store)
		Expect(err).NotTo(HaveOccurred())
		for _, e := range entries {
			if e.Name() == "index" || strings.HasPrefix(e.Name(), "att-") {
				Expect(os.Remove(filepath.Join(store, e.Name()))).To(Succeed())
			}
		}
		fillFilesystem(filepath.Join(full, "filler"))

		never := tb.Run(cnitest.Invocation{Command: "DEL", ContainerID: conformance.NewContainerID(), NetNS: tb.NewPod().Path()})
		Expect(never.Failed()).To(BeFalse(), "DEL of an attachment never added, disk full: %s", never)
		del := tb.Del(a, a.Pod.Path())
		Expect(del.Failed()).To(BeFalse(), "DEL of a live attachment, disk full: %s", del)
		files, err := cnitest.FilesMentioning(dataDir, a.ID)
		Expect(err).NotTo(HaveOccurred())
		Expect(files).To(BeEmpty(), "the address stayed reserved")
		Expect(tb.HostVeths()).To(BeEmpty())
	})

	DescribeTable("an entry planted where the store expects its own file: STATUS says 50, ADD fails with 5 and changes nothing",
		func(name string, plant func(path string)) {
			tb.Add(tb.NewPod())
			plant(filepath.Join(storeDir(tb), name))
			resp := status(nil)
			conformance.ExpectCNIError(resp, codeNotAvailable)
			cniErr, _ := resp.Error()
			Expect(cniErr.Msg + cniErr.Details).To(ContainSubstring(name))
			pod := tb.NewPod()
			before := tb.Snapshot(pod)
			add := tb.Run(cnitest.Invocation{Command: "ADD", ContainerID: conformance.NewContainerID(), NetNS: pod.Path()})
			conformance.ExpectCNIError(add, types.ErrIOFailure)
			Expect(before.Diff(tb.Snapshot(pod))).To(BeEmpty(), "the refused ADD changed the node")
		},
		Entry("a directory at .reserving", ".reserving", mkdirFull),
		Entry("a directory at .att", ".att", mkdirFull),
		Entry("a directory at .record", ".record", mkdirFull),
		Entry("a directory at lock", "lock", replaceWith(mkdirFull)),
		Entry("a dangling symlink at lock", "lock", replaceWith(danglingSymlink)),
	)

	It("a dangling rules.lock symlink: ADD fails with 5 (not 999), rolls back and creates nothing where it points; STATUS says 50", func() {
		// Planted before the first ADD, which must install the rules and so takes rules.lock.
		store := storeDir(tb)
		Expect(os.MkdirAll(store, 0o700)).To(Succeed())
		target := filepath.Join(tb.Tmp, "rules-lock-target")
		Expect(os.Symlink(target, filepath.Join(store, "rules.lock"))).To(Succeed())
		conformance.ExpectCNIError(status(nil), codeNotAvailable)
		pod := tb.NewPod()
		id := conformance.NewContainerID()
		add := tb.Run(cnitest.Invocation{Command: "ADD", ContainerID: id, NetNS: pod.Path()})
		conformance.ExpectCNIError(add, types.ErrIOFailure)
		_, err := os.Lstat(target)
		Expect(errors.Is(err, os.ErrNotExist)).To(BeTrue(), "the symlink's target was created")
		Expect(cnitest.LinkNames(pod)).To(Equal([]string{"lo"}))
		Expect(tb.HostVeths()).To(BeEmpty())
		tb.ExpectReleased(id, "the failed ADD kept its address")
		Expect(hostRules(tb)).To(BeEmpty(), "the failed ADD left iptables rules")
	})

	It("a container ID over 1024 bytes is refused with 4 before anything is touched; one of 1024 bytes works", func() {
		pod := tb.NewPod()
		resp := tb.Run(cnitest.Invocation{Command: "ADD", ContainerID: "c" + strings.Repeat("0", 4096), NetNS: pod.Path()})
		conformance.ExpectCNIError(resp, types.ErrInvalidEnvironmentVariables)
		Expect(cniErrorText(resp)).To(ContainSubstring("1024"))
		_, err := os.Stat(tb.Params.DataDir)
		Expect(errors.Is(err, os.ErrNotExist)).To(BeTrue(), "the refused ADD created the data dir")
		Expect(cnitest.LinkNames(pod)).To(Equal([]string{"lo"}))

		id := "c" + strings.Repeat("0", 1023)
		add := tb.Run(cnitest.Invocation{Command: "ADD", ContainerID: id, NetNS: pod.Path()})
		Expect(add.Failed()).To(BeFalse(), "ADD with a 1024-byte container ID: %s", add)
		Expect(tb.Run(cnitest.Invocation{Command: "DEL", ContainerID: id, NetNS: pod.Path()}).Failed()).To(BeFalse())
		tb.ExpectReleased(id)
	})
})

func cniErrorText(resp cnitest.Response) string {
	GinkgoHelper()
	cniErr, err := resp.Error()
	Expect(err).NotTo(HaveOccurred())
	return cniErr.Msg + " " + cniErr.Details
}

// deadPID is the pid of a process that has exited.
func deadPID() int {
	GinkgoHelper()
	cmd := exec.Command("true")
	Expect(cmd.Run()).To(Succeed())
	return cmd.Process.Pid
}

// dotFiles lists the entries of dir whose names start with a dot.
func dotFiles(dir string) []string {
	GinkgoHelper()
	entries, err := os.ReadDir(dir)
	Expect(err).NotTo(HaveOccurred())
	var names []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	return names
}

// fillFilesystem writes path until its filesystem has no block left.
func fillFilesystem(path string) {
	GinkgoHelper()
	f, err := os.Create(path)
	Expect(err).NotTo(HaveOccurred())
	defer func() { _ = f.Close() }()
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			Expect(errors.Is(err, unix.ENOSPC)).To(BeTrue(), "filling %s: %v", path, err)
			return
		}
	}
}

// mkdirFull makes a directory at path that is not empty, so nothing can
// remove it with a single unlink or rmdir.
func mkdirFull(path string) {
	GinkgoHelper()
	Expect(os.Mkdir(path, 0o700)).To(Succeed())
	Expect(os.WriteFile(filepath.Join(path, "x"), nil, 0o600)).To(Succeed())
}

func danglingSymlink(path string) {
	GinkgoHelper()
	Expect(os.Symlink(path+"-nowhere", path)).To(Succeed())
}

// replaceWith removes the store's file at path first.
func replaceWith(plant func(string)) func(string) {
	return func(path string) {
		GinkgoHelper()
		Expect(os.Remove(path)).To(Succeed())
		plant(path)
	}
}
