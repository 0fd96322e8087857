package conformance

import (
	"os"
	"path/filepath"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/cni/pkg/version"
	"github.com/containernetworking/plugins/pkg/ns"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/cnigate/cnigate/cnitest"
)

// anyCNIError is the code of a row where the spec fixes no code: any CNI
// error (JSON on stdout with a code and a message) is accepted.
const anyCNIError uint = 0

// BadCall is one request of the error contract: a valid ADD of a new
// container into a fresh pod, which each row breaks in exactly one way. The
// testbed also holds a live attachment (existing), so a bad call that
// disturbs other pods or the store is caught too.
type BadCall struct {
	TB       *Testbed
	Existing Attachment
	pod      ns.NetNS
	Env      cnitest.Env
	config   []byte
}

func newBadCall() *BadCall {
	GinkgoHelper()
	tb := NewTestbed(version.Current())
	c := &BadCall{TB: tb, Existing: tb.Add(tb.NewPod()), pod: tb.NewPod()}
	c.Env = cnitest.Invocation{Command: "ADD", ContainerID: NewContainerID(), NetNS: c.pod.Path(), IfName: TestIfName}.CNIEnv(cfg.Plugin.CNIPath)
	c.config = tb.Conf
	return c
}

// Set changes top-level config fields (nil deletes one).
func (c *BadCall) Set(fields map[string]any) { c.config = MustWithFields(c.config, fields) }

// on turns the call into cmd against the live attachment (DEL, CHECK with
// its result as prevResult).
func (c *BadCall) on(cmd string) {
	GinkgoHelper()
	c.Env["CNI_COMMAND"] = cmd
	c.Env["CNI_CONTAINERID"] = c.Existing.ID
	c.Env["CNI_NETNS"] = c.Existing.Pod.Path()
	if cmd == "CHECK" {
		prev, err := c.Existing.Result.GetAsVersion(c.TB.Params.CNIVersion)
		Expect(err).NotTo(HaveOccurred())
		c.Set(map[string]any{"prevResult": prev})
	}
}

// Global turns the call into GC or STATUS (no container, netns or ifname),
// with every attachment valid so that a GC that passed would keep them.
func (c *BadCall) Global(cmd string) {
	c.Env = cnitest.Invocation{Command: cmd}.CNIEnv(cfg.Plugin.CNIPath)
	for _, key := range []string{"CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"} {
		delete(c.Env, key) // GC and STATUS concern no attachment
	}
	if cmd == "GC" {
		c.Set(map[string]any{"cni.dev/valid-attachments": []types.GCAttachment{{ContainerID: c.Existing.ID, IfName: TestIfName}}})
	}
}

// snapshot records everything the call could change: both netns of the
// node's pods, the host netns and the plugin's data dir.
func (c *BadCall) snapshot() cnitest.Snapshot {
	GinkgoHelper()
	s, err := cnitest.TakeSnapshot(
		map[string]ns.NetNS{"host": c.TB.Host, "new pod": c.pod, "existing pod": c.Existing.Pod},
		map[string]string{"data dir": c.TB.Params.DataDir})
	Expect(err).NotTo(HaveOccurred())
	return s
}

// ExpectRefusedUnchanged runs a bad call and checks the error contract: a
// CNI error with the code (or any code), and nothing observable changed.
func ExpectRefusedUnchanged(mutate func(*BadCall), code uint) {
	GinkgoHelper()
	c := newBadCall()
	mutate(c)
	before := c.snapshot()
	resp := c.TB.Run(cnitest.Invocation{Env: c.Env.List(), Config: c.config})
	if code == anyCNIError {
		Expect(resp.Failed()).To(BeTrue(), "expected a failure, got %s", resp)
		_, err := resp.Error()
		Expect(err).NotTo(HaveOccurred())
	} else {
		ExpectCNIError(resp, code)
	}
	Expect(before.Diff(c.snapshot())).To(BeEmpty(), "the refused call changed the node (+ appeared, - went away)")
}

// WithEnv sets an environment variable of the call.
func WithEnv(key, value string) func(*BadCall) {
	return func(c *BadCall) { c.Env[key] = value }
}

// WithoutEnv leaves an environment variable out of the call.
func WithoutEnv(key string) func(*BadCall) {
	return func(c *BadCall) { delete(c.Env, key) }
}

func withConfig(config string) func(*BadCall) {
	return func(c *BadCall) { c.config = []byte(config) }
}

// WithField sets (nil: removes) a field of the call's config.
func WithField(key string, value any) func(*BadCall) {
	return func(c *BadCall) { c.Set(map[string]any{key: value}) }
}

// Then composes row steps: withEnv(...) then on("DEL"), etc.
func Then(steps ...func(*BadCall)) func(*BadCall) {
	return func(c *BadCall) {
		for _, s := range steps {
			s(c)
		}
	}
}

// On makes the call the given command on the live attachment.
func On(cmd string) func(*BadCall) { return func(c *BadCall) { c.on(cmd) } }

// Global makes the call the given command on the whole network (GC, STATUS).
func Global(cmd string) func(*BadCall) { return func(c *BadCall) { c.Global(cmd) } }

// NetnsPath points CNI_NETNS at a path made in the spec's temp dir.
func NetnsPath(make func(tmp string) string) func(*BadCall) {
	return func(c *BadCall) { c.Env["CNI_NETNS"] = make(c.TB.Tmp) }
}

// RegularFile creates a regular file in tmp and returns its path.
func RegularFile(tmp string) string {
	path := filepath.Join(tmp, "not-a-netns")
	Expect(os.WriteFile(path, []byte("x"), 0o600)).To(Succeed())
	return path
}

// What the CNI spec and skel fix, for any plugin.
var _ = Describe("error contract", Label("generic"), clause("errors"), convention("refusal-changes-nothing"), func() {
	DescribeTable("a bad call is refused and changes nothing", ExpectRefusedUnchanged,
		// Environment: code 4.
		Entry("CNI_CONTAINERID missing: 4", WithoutEnv("CNI_CONTAINERID"), types.ErrInvalidEnvironmentVariables),
		Entry("CNI_NETNS missing: 4", WithoutEnv("CNI_NETNS"), types.ErrInvalidEnvironmentVariables),
		Entry("CNI_NETNS empty: 4", WithEnv("CNI_NETNS", ""), types.ErrInvalidEnvironmentVariables),
		Entry("CNI_IFNAME missing: 4", WithoutEnv("CNI_IFNAME"), types.ErrInvalidEnvironmentVariables),
		Entry("CNI_PATH missing: 4", WithoutEnv("CNI_PATH"), types.ErrInvalidEnvironmentVariables),
		Entry("unknown CNI_COMMAND: 4", WithEnv("CNI_COMMAND", "FROBNICATE"), types.ErrInvalidEnvironmentVariables),
		Entry("lower-case CNI_COMMAND: 4", WithEnv("CNI_COMMAND", "add"), types.ErrInvalidEnvironmentVariables),
		Entry("container ID with a slash: 4", WithEnv("CNI_CONTAINERID", "bad/id"), types.ErrInvalidEnvironmentVariables),
		Entry("container ID starting with a dash: 4", WithEnv("CNI_CONTAINERID", "-bad"), types.ErrInvalidEnvironmentVariables),
		Entry("container ID starting with a dot: 4", WithEnv("CNI_CONTAINERID", ".bad"), types.ErrInvalidEnvironmentVariables),
		Entry("container ID with a space: 4", WithEnv("CNI_CONTAINERID", "bad id"), types.ErrInvalidEnvironmentVariables),
		Entry("container ID with a colon: 4", WithEnv("CNI_CONTAINERID", "bad:id"), types.ErrInvalidEnvironmentVariables),
		Entry("container ID with a shell metacharacter: 4", WithEnv("CNI_CONTAINERID", "id;reboot"), types.ErrInvalidEnvironmentVariables),
		Entry("ifname longer than 15 characters: 4", WithEnv("CNI_IFNAME", "eth0123456789abc"), types.ErrInvalidEnvironmentVariables),
		Entry("ifname .: 4", WithEnv("CNI_IFNAME", "."), types.ErrInvalidEnvironmentVariables),
		Entry("ifname ..: 4", WithEnv("CNI_IFNAME", ".."), types.ErrInvalidEnvironmentVariables),
		Entry("ifname with a slash: 4", WithEnv("CNI_IFNAME", "et/h0"), types.ErrInvalidEnvironmentVariables),
		Entry("ifname with a colon: 4", WithEnv("CNI_IFNAME", "eth:0"), types.ErrInvalidEnvironmentVariables),
		Entry("ifname with a space: 4", WithEnv("CNI_IFNAME", "eth 0"), types.ErrInvalidEnvironmentVariables),
		Entry("ifname with a newline: 4", WithEnv("CNI_IFNAME", "eth\n0"), types.ErrInvalidEnvironmentVariables),
		Entry("DEL without CNI_CONTAINERID: 4", Then(On("DEL"), WithoutEnv("CNI_CONTAINERID")), types.ErrInvalidEnvironmentVariables),
		Entry("DEL without CNI_IFNAME: 4", Then(On("DEL"), WithoutEnv("CNI_IFNAME")), types.ErrInvalidEnvironmentVariables),
		Entry("DEL with an ifname too long: 4", Then(On("DEL"), WithEnv("CNI_IFNAME", "eth0123456789abc")), types.ErrInvalidEnvironmentVariables),
		Entry("DEL without CNI_PATH: 4", Then(On("DEL"), WithoutEnv("CNI_PATH")), types.ErrInvalidEnvironmentVariables),
		Entry("CHECK without CNI_NETNS: 4", Then(On("CHECK"), WithoutEnv("CNI_NETNS")), types.ErrInvalidEnvironmentVariables),
		Entry("CHECK without CNI_IFNAME: 4", Then(On("CHECK"), WithoutEnv("CNI_IFNAME")), types.ErrInvalidEnvironmentVariables),
		Entry("GC without CNI_PATH: 4", Then(Global("GC"), WithoutEnv("CNI_PATH")), types.ErrInvalidEnvironmentVariables),
		Entry("STATUS without CNI_PATH: 4", Then(Global("STATUS"), WithoutEnv("CNI_PATH")), types.ErrInvalidEnvironmentVariables),

		// Decoding: code 6.
		Entry("malformed JSON: 6", withConfig(`{"cniVersion": "1.0.0", "name":`), types.ErrDecodingFailure),
		Entry("empty stdin: 6", withConfig(``), types.ErrDecodingFailure),
		Entry("a JSON array: 6", withConfig(`[]`), types.ErrDecodingFailure),
		Entry("a JSON string: 6", withConfig(`"cnitest"`), types.ErrDecodingFailure),
		Entry("name is a number: 6", WithField("name", 7), types.ErrDecodingFailure),
		Entry("cniVersion is a number: 6", WithField("cniVersion", 1.1), types.ErrDecodingFailure),
		Entry("DEL with malformed JSON: 6", Then(On("DEL"), withConfig(`{"name":`)), types.ErrDecodingFailure),
		Entry("CHECK with malformed JSON: 6", Then(On("CHECK"), withConfig(`{"name":`)), types.ErrDecodingFailure),
		Entry("GC with malformed JSON: 6", Then(Global("GC"), withConfig(`{"name":`)), types.ErrDecodingFailure),
		Entry("STATUS with malformed JSON: 6", Then(Global("STATUS"), withConfig(`{"name":`)), types.ErrDecodingFailure),

		// Network name: code 7.
		Entry("no network name: 7", WithField("name", nil), types.ErrInvalidNetworkConfig),
		Entry("empty network name: 7", WithField("name", ""), types.ErrInvalidNetworkConfig),
		Entry("network name with a path: 7", WithField("name", "../escape"), types.ErrInvalidNetworkConfig),
		Entry("network name with a space: 7", WithField("name", "my net"), types.ErrInvalidNetworkConfig),
		Entry("network name starting with a dash: 7", WithField("name", "-net"), types.ErrInvalidNetworkConfig),
		Entry("DEL without a network name: 7", Then(On("DEL"), WithField("name", nil)), types.ErrInvalidNetworkConfig),

		// Version: code 1.
		Entry("unsupported cniVersion: 1", WithField("cniVersion", "99.0.0"), types.ErrIncompatibleCNIVersion),
		Entry("cniVersion that is not a version: 1", WithField("cniVersion", "one"), types.ErrIncompatibleCNIVersion),
		Entry("DEL with an unsupported cniVersion: 1", Then(On("DEL"), WithField("cniVersion", "99.0.0")), types.ErrIncompatibleCNIVersion),
		Entry("CHECK below 0.4.0: 1", Then(On("CHECK"), WithField("cniVersion", "0.3.1")), types.ErrIncompatibleCNIVersion),
		Entry("GC below 1.1.0: 1", Then(Global("GC"), WithField("cniVersion", "1.0.0")), types.ErrIncompatibleCNIVersion),
		Entry("STATUS below 1.1.0: 1", Then(Global("STATUS"), WithField("cniVersion", "1.0.0")), types.ErrIncompatibleCNIVersion),

		// Network namespace: the spec fixes no code.
		Entry("CNI_NETNS that does not exist", WithEnv("CNI_NETNS", "/var/run/netns/cnitest-no-such-netns"), anyCNIError),
		Entry("CNI_NETNS a regular file", NetnsPath(RegularFile), anyCNIError),
		Entry("CNI_NETNS a directory", NetnsPath(func(tmp string) string { return tmp }), anyCNIError),
		Entry("CNI_NETNS a mount namespace", WithEnv("CNI_NETNS", "/proc/self/ns/mnt"), anyCNIError),
		Entry("CNI_NETNS the plugin's own netns", convention("own-netns-refused"), func(c *BadCall) { c.Env["CNI_NETNS"] = c.TB.Host.Path() }, anyCNIError),
		Entry("CNI_IFNAME already in the pod (lo)", WithEnv("CNI_IFNAME", "lo"), anyCNIError),
		Entry("CHECK in a netns that does not exist", Then(On("CHECK"), WithEnv("CNI_NETNS", "/var/run/netns/cnitest-no-such-netns")), anyCNIError),
		Entry("CHECK with a prevResult that is not a result", Then(On("CHECK"), WithField("prevResult", "garbage")), anyCNIError),
	)

	// skel prints its usage on stderr and exits 0; a plugin may instead
	// fail with code 4 so that a runtime that forgot the variable notices.
	It("without CNI_COMMAND explains itself (usage on stderr and exit 0, or error 4) and changes nothing", func() {
		c := newBadCall()
		delete(c.Env, "CNI_COMMAND")
		before := c.snapshot()
		resp := c.TB.Run(cnitest.Invocation{Env: c.Env.List(), Config: c.config})
		if resp.Failed() {
			ExpectCNIError(resp, types.ErrInvalidEnvironmentVariables)
		} else {
			Expect(resp.Stdout).To(BeEmpty())
			Expect(resp.Stderr).NotTo(BeEmpty())
		}
		Expect(before.Diff(c.snapshot())).To(BeEmpty())
	})

	It("ADD into a netns that already has the interface fails and leaves that interface alone", clause("ADD"), func() {
		tb := NewTestbed(version.Current())
		a := tb.Add(tb.NewPod())
		before, _, err := cnitest.LinkIn(a.Pod, TestIfName)
		Expect(err).NotTo(HaveOccurred())
		veths := tb.HostVeths()

		other := NewContainerID()
		resp := tb.Run(cnitest.Invocation{Command: "ADD", ContainerID: other, NetNS: a.Pod.Path()})
		Expect(resp.Failed()).To(BeTrue(), "ADD over an existing interface succeeded: %s", resp)
		_, err = resp.Error()
		Expect(err).NotTo(HaveOccurred())

		after, found, err := cnitest.LinkIn(a.Pod, TestIfName)
		Expect(err).NotTo(HaveOccurred())
		Expect(found).To(BeTrue())
		Expect(after.MAC).To(Equal(before.MAC), "the existing interface was replaced")
		tb.ExpectReleased(other, "the failed ADD kept an address")
		Expect(tb.HostVeths()).To(Equal(veths), "the failed ADD left a host veth")
	})
})

// MustWithFields is conf with fields set (cnitest.WithFields); the spec fails on an error.
func MustWithFields(conf []byte, fields map[string]any) []byte {
	GinkgoHelper()
	out, err := cnitest.WithFields(conf, fields)
	Expect(err).NotTo(HaveOccurred())
	return out
}
