package netnstests_test

import (
	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/cni/pkg/version"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/cnigate/cnigate/netns-tests/cnitest"
)

// cniEnv is the environment of a valid ADD; entries drop or break one part.
type cniEnv map[string]string

func (e cniEnv) list() []string {
	var out []string
	for k, v := range e {
		out = append(out, k+"="+v)
	}
	return out
}

var _ = Describe("error contract", Label("generic"), func() {
	var (
		tb  *testbed
		pod = func() string { return "" }
	)
	BeforeEach(func() {
		tb = newTestbed(version.Current())
		p := tb.newPod()
		pod = p.Path
	})

	// expectRejected checks the error, and that nothing was created: no link
	// in the host or pod netns, no file in the data dir.
	expectRejected := func(resp cnitest.Response, code uint) {
		GinkgoHelper()
		expectCNIError(resp, code)
		links, err := cnitest.LinkNames(tb.host)
		Expect(err).NotTo(HaveOccurred())
		Expect(links).To(Equal([]string{"lo"}), "links created in the host netns")
		files, err := cnitest.RegularFiles(tb.params.DataDir)
		Expect(err).NotTo(HaveOccurred())
		Expect(files).To(BeEmpty(), "files created in the data dir")
	}

	DescribeTable("a bad environment is refused with code 4",
		func(mutate func(cniEnv)) {
			env := cniEnv{
				"CNI_COMMAND": "ADD", "CNI_CONTAINERID": newContainerID(), "CNI_NETNS": pod(),
				"CNI_IFNAME": testIfName, "CNI_PATH": cfg.plugin.CNIPath,
			}
			mutate(env)
			expectRejected(tb.run(cnitest.Invocation{Env: env.list()}), types.ErrInvalidEnvironmentVariables)
		},
		Entry("CNI_CONTAINERID missing", func(e cniEnv) { delete(e, "CNI_CONTAINERID") }),
		Entry("CNI_NETNS missing", func(e cniEnv) { delete(e, "CNI_NETNS") }),
		Entry("CNI_IFNAME missing", func(e cniEnv) { delete(e, "CNI_IFNAME") }),
		Entry("CNI_PATH missing", func(e cniEnv) { delete(e, "CNI_PATH") }),
		Entry("unknown CNI_COMMAND", func(e cniEnv) { e["CNI_COMMAND"] = "FROBNICATE" }),
		Entry("container ID with a slash", func(e cniEnv) { e["CNI_CONTAINERID"] = "bad/id" }),
		Entry("container ID starting with a dash", func(e cniEnv) { e["CNI_CONTAINERID"] = "-bad" }),
		Entry("ifname longer than 15 characters", func(e cniEnv) { e["CNI_IFNAME"] = "eth0123456789abc" }),
		Entry("ifname ..", func(e cniEnv) { e["CNI_IFNAME"] = ".." }),
		Entry("ifname with a slash", func(e cniEnv) { e["CNI_IFNAME"] = "et/h0" }),
		Entry("ifname with a colon", func(e cniEnv) { e["CNI_IFNAME"] = "eth:0" }),
	)

	DescribeTable("a bad config is refused",
		func(config func(good []byte) []byte, code uint) {
			inv := cnitest.Invocation{Command: "ADD", ContainerID: newContainerID(), NetNS: pod(), Config: config(tb.conf)}
			expectRejected(tb.run(inv), code)
		},
		Entry("malformed JSON: code 6", func([]byte) []byte { return []byte(`{"cniVersion": "1.0.0", "name":`) }, types.ErrDecodingFailure),
		Entry("no network name: code 7", func(good []byte) []byte { return mustWithFields(good, map[string]any{"name": nil}) }, types.ErrInvalidNetworkConfig),
		Entry("network name unusable as a directory: code 7", func(good []byte) []byte {
			return mustWithFields(good, map[string]any{"name": "../escape"})
		}, types.ErrInvalidNetworkConfig),
		Entry("unsupported cniVersion: code 1", func(good []byte) []byte {
			return mustWithFields(good, map[string]any{"cniVersion": "99.0.0"})
		}, types.ErrIncompatibleCNIVersion),
	)

	It("without CNI_COMMAND prints what it is on stderr and exits 0", func() {
		resp := tb.run(cnitest.Invocation{Env: []string{}})
		Expect(resp.Failed()).To(BeFalse(), "%s", resp)
		Expect(resp.Stdout).To(BeEmpty())
		Expect(resp.Stderr).NotTo(BeEmpty())
	})

	It("ADD into a netns that already has the interface fails and leaves that interface alone", func() {
		a := tb.add(tb.newPod())
		before, _, err := cnitest.LinkIn(a.pod, testIfName)
		Expect(err).NotTo(HaveOccurred())
		veths := tb.hostVeths()

		other := newContainerID()
		resp := tb.run(cnitest.Invocation{Command: "ADD", ContainerID: other, NetNS: a.pod.Path()})
		Expect(resp.Failed()).To(BeTrue(), "ADD over an existing interface succeeded: %s", resp)
		_, err = resp.Error()
		Expect(err).NotTo(HaveOccurred())

		after, found, err := cnitest.LinkIn(a.pod, testIfName)
		Expect(err).NotTo(HaveOccurred())
		Expect(found).To(BeTrue())
		Expect(after.MAC).To(Equal(before.MAC), "the existing interface was replaced")
		Expect(tb.reservations(other)).To(BeEmpty(), "the failed ADD kept an address")
		Expect(tb.hostVeths()).To(Equal(veths), "the failed ADD left a host veth")
	})
})

func mustWithFields(conf []byte, fields map[string]any) []byte {
	GinkgoHelper()
	out, err := cnitest.WithFields(conf, fields)
	Expect(err).NotTo(HaveOccurred())
	return out
}
