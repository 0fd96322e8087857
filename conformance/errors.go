package conformance

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/cni/pkg/version"
	"github.com/containernetworking/plugins/pkg/ns"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/vishvananda/netlink"

	"github.com/cnigate/cnigate/cnitest"
)

// anyCNIError is the code of a row where the spec fixes no code: any CNI
// error (JSON on stdout with a code and a message) is accepted.
const anyCNIError uint = 0

// badCall is one request of the error contract: a valid ADD of a new
// container into a fresh pod, which each row breaks in exactly one way. The
// testbed also holds a live attachment (existing), so a bad call that
// disturbs other pods or the store is caught too.
type badCall struct {
	tb       *testbed
	existing attachment
	pod      ns.NetNS
	env      cnitest.Env
	config   []byte
}

func newBadCall() *badCall {
	GinkgoHelper()
	tb := newTestbed(version.Current())
	c := &badCall{tb: tb, existing: tb.add(tb.newPod()), pod: tb.newPod()}
	c.env = cnitest.Invocation{Command: "ADD", ContainerID: newContainerID(), NetNS: c.pod.Path(), IfName: testIfName}.CNIEnv(cfg.plugin.CNIPath)
	c.config = tb.conf
	return c
}

// set changes top-level config fields (nil deletes one).
func (c *badCall) set(fields map[string]any) { c.config = mustWithFields(c.config, fields) }

// on turns the call into cmd against the live attachment (DEL, CHECK with
// its result as prevResult).
func (c *badCall) on(cmd string) {
	GinkgoHelper()
	c.env["CNI_COMMAND"] = cmd
	c.env["CNI_CONTAINERID"] = c.existing.id
	c.env["CNI_NETNS"] = c.existing.pod.Path()
	if cmd == "CHECK" {
		prev, err := c.existing.result.GetAsVersion(c.tb.params.CNIVersion)
		Expect(err).NotTo(HaveOccurred())
		c.set(map[string]any{"prevResult": prev})
	}
}

// global turns the call into GC or STATUS (no container, netns or ifname),
// with every attachment valid so that a GC that passed would keep them.
func (c *badCall) global(cmd string) {
	c.env = cnitest.Invocation{Command: cmd}.CNIEnv(cfg.plugin.CNIPath)
	for _, key := range []string{"CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"} {
		delete(c.env, key) // GC and STATUS concern no attachment
	}
	if cmd == "GC" {
		c.set(map[string]any{"cni.dev/valid-attachments": []types.GCAttachment{{ContainerID: c.existing.id, IfName: testIfName}}})
	}
}

// snapshot records everything the call could change: both netns of the
// node's pods, the host netns and the plugin's data dir.
func (c *badCall) snapshot() cnitest.Snapshot {
	GinkgoHelper()
	s, err := cnitest.TakeSnapshot(
		map[string]ns.NetNS{"host": c.tb.host, "new pod": c.pod, "existing pod": c.existing.pod},
		map[string]string{"data dir": c.tb.params.DataDir})
	Expect(err).NotTo(HaveOccurred())
	return s
}

// expectRefusedUnchanged runs a bad call and checks the error contract: a
// CNI error with the code (or any code), and nothing observable changed.
func expectRefusedUnchanged(mutate func(*badCall), code uint) {
	GinkgoHelper()
	c := newBadCall()
	mutate(c)
	before := c.snapshot()
	resp := c.tb.run(cnitest.Invocation{Env: c.env.List(), Config: c.config})
	if code == anyCNIError {
		Expect(resp.Failed()).To(BeTrue(), "expected a failure, got %s", resp)
		_, err := resp.Error()
		Expect(err).NotTo(HaveOccurred())
	} else {
		expectCNIError(resp, code)
	}
	Expect(before.Diff(c.snapshot())).To(BeEmpty(), "the refused call changed the node (+ appeared, - went away)")
}

func withEnv(key, value string) func(*badCall) {
	return func(c *badCall) { c.env[key] = value }
}

func withoutEnv(key string) func(*badCall) {
	return func(c *badCall) { delete(c.env, key) }
}

func withConfig(config string) func(*badCall) {
	return func(c *badCall) { c.config = []byte(config) }
}

func withField(key string, value any) func(*badCall) {
	return func(c *badCall) { c.set(map[string]any{key: value}) }
}

// then composes row steps: withEnv(...) then on("DEL"), etc.
func then(steps ...func(*badCall)) func(*badCall) {
	return func(c *badCall) {
		for _, s := range steps {
			s(c)
		}
	}
}

func on(cmd string) func(*badCall)     { return func(c *badCall) { c.on(cmd) } }
func global(cmd string) func(*badCall) { return func(c *badCall) { c.global(cmd) } }

// netnsPath points CNI_NETNS at a path made in the spec's temp dir.
func netnsPath(make func(tmp string) string) func(*badCall) {
	return func(c *badCall) { c.env["CNI_NETNS"] = make(c.tb.tmp) }
}

func regularFile(tmp string) string {
	path := filepath.Join(tmp, "not-a-netns")
	Expect(os.WriteFile(path, []byte("x"), 0o600)).To(Succeed())
	return path
}

// What the CNI spec and skel fix, for any plugin.
var _ = Describe("error contract", Label("generic"), clause("errors"), convention("refusal-changes-nothing"), func() {
	DescribeTable("a bad call is refused and changes nothing", expectRefusedUnchanged,
		// Environment: code 4.
		Entry("CNI_CONTAINERID missing: 4", withoutEnv("CNI_CONTAINERID"), types.ErrInvalidEnvironmentVariables),
		Entry("CNI_NETNS missing: 4", withoutEnv("CNI_NETNS"), types.ErrInvalidEnvironmentVariables),
		Entry("CNI_NETNS empty: 4", withEnv("CNI_NETNS", ""), types.ErrInvalidEnvironmentVariables),
		Entry("CNI_IFNAME missing: 4", withoutEnv("CNI_IFNAME"), types.ErrInvalidEnvironmentVariables),
		Entry("CNI_PATH missing: 4", withoutEnv("CNI_PATH"), types.ErrInvalidEnvironmentVariables),
		Entry("unknown CNI_COMMAND: 4", withEnv("CNI_COMMAND", "FROBNICATE"), types.ErrInvalidEnvironmentVariables),
		Entry("lower-case CNI_COMMAND: 4", withEnv("CNI_COMMAND", "add"), types.ErrInvalidEnvironmentVariables),
		Entry("container ID with a slash: 4", withEnv("CNI_CONTAINERID", "bad/id"), types.ErrInvalidEnvironmentVariables),
		Entry("container ID starting with a dash: 4", withEnv("CNI_CONTAINERID", "-bad"), types.ErrInvalidEnvironmentVariables),
		Entry("container ID starting with a dot: 4", withEnv("CNI_CONTAINERID", ".bad"), types.ErrInvalidEnvironmentVariables),
		Entry("container ID with a space: 4", withEnv("CNI_CONTAINERID", "bad id"), types.ErrInvalidEnvironmentVariables),
		Entry("container ID with a colon: 4", withEnv("CNI_CONTAINERID", "bad:id"), types.ErrInvalidEnvironmentVariables),
		Entry("container ID with a shell metacharacter: 4", withEnv("CNI_CONTAINERID", "id;reboot"), types.ErrInvalidEnvironmentVariables),
		Entry("ifname longer than 15 characters: 4", withEnv("CNI_IFNAME", "eth0123456789abc"), types.ErrInvalidEnvironmentVariables),
		Entry("ifname .: 4", withEnv("CNI_IFNAME", "."), types.ErrInvalidEnvironmentVariables),
		Entry("ifname ..: 4", withEnv("CNI_IFNAME", ".."), types.ErrInvalidEnvironmentVariables),
		Entry("ifname with a slash: 4", withEnv("CNI_IFNAME", "et/h0"), types.ErrInvalidEnvironmentVariables),
		Entry("ifname with a colon: 4", withEnv("CNI_IFNAME", "eth:0"), types.ErrInvalidEnvironmentVariables),
		Entry("ifname with a space: 4", withEnv("CNI_IFNAME", "eth 0"), types.ErrInvalidEnvironmentVariables),
		Entry("ifname with a newline: 4", withEnv("CNI_IFNAME", "eth\n0"), types.ErrInvalidEnvironmentVariables),
		Entry("DEL without CNI_CONTAINERID: 4", then(on("DEL"), withoutEnv("CNI_CONTAINERID")), types.ErrInvalidEnvironmentVariables),
		Entry("DEL without CNI_IFNAME: 4", then(on("DEL"), withoutEnv("CNI_IFNAME")), types.ErrInvalidEnvironmentVariables),
		Entry("DEL with an ifname too long: 4", then(on("DEL"), withEnv("CNI_IFNAME", "eth0123456789abc")), types.ErrInvalidEnvironmentVariables),
		Entry("DEL without CNI_PATH: 4", then(on("DEL"), withoutEnv("CNI_PATH")), types.ErrInvalidEnvironmentVariables),
		Entry("CHECK without CNI_NETNS: 4", then(on("CHECK"), withoutEnv("CNI_NETNS")), types.ErrInvalidEnvironmentVariables),
		Entry("CHECK without CNI_IFNAME: 4", then(on("CHECK"), withoutEnv("CNI_IFNAME")), types.ErrInvalidEnvironmentVariables),
		Entry("GC without CNI_PATH: 4", then(global("GC"), withoutEnv("CNI_PATH")), types.ErrInvalidEnvironmentVariables),
		Entry("STATUS without CNI_PATH: 4", then(global("STATUS"), withoutEnv("CNI_PATH")), types.ErrInvalidEnvironmentVariables),

		// Decoding: code 6.
		Entry("malformed JSON: 6", withConfig(`{"cniVersion": "1.0.0", "name":`), types.ErrDecodingFailure),
		Entry("empty stdin: 6", withConfig(``), types.ErrDecodingFailure),
		Entry("a JSON array: 6", withConfig(`[]`), types.ErrDecodingFailure),
		Entry("a JSON string: 6", withConfig(`"cnitest"`), types.ErrDecodingFailure),
		Entry("name is a number: 6", withField("name", 7), types.ErrDecodingFailure),
		Entry("cniVersion is a number: 6", withField("cniVersion", 1.1), types.ErrDecodingFailure),
		Entry("DEL with malformed JSON: 6", then(on("DEL"), withConfig(`{"name":`)), types.ErrDecodingFailure),
		Entry("CHECK with malformed JSON: 6", then(on("CHECK"), withConfig(`{"name":`)), types.ErrDecodingFailure),
		Entry("GC with malformed JSON: 6", then(global("GC"), withConfig(`{"name":`)), types.ErrDecodingFailure),
		Entry("STATUS with malformed JSON: 6", then(global("STATUS"), withConfig(`{"name":`)), types.ErrDecodingFailure),

		// Network name: code 7.
		Entry("no network name: 7", withField("name", nil), types.ErrInvalidNetworkConfig),
		Entry("empty network name: 7", withField("name", ""), types.ErrInvalidNetworkConfig),
		Entry("network name with a path: 7", withField("name", "../escape"), types.ErrInvalidNetworkConfig),
		Entry("network name with a space: 7", withField("name", "my net"), types.ErrInvalidNetworkConfig),
		Entry("network name starting with a dash: 7", withField("name", "-net"), types.ErrInvalidNetworkConfig),
		Entry("DEL without a network name: 7", then(on("DEL"), withField("name", nil)), types.ErrInvalidNetworkConfig),

		// Version: code 1.
		Entry("unsupported cniVersion: 1", withField("cniVersion", "99.0.0"), types.ErrIncompatibleCNIVersion),
		Entry("cniVersion that is not a version: 1", withField("cniVersion", "one"), types.ErrIncompatibleCNIVersion),
		Entry("DEL with an unsupported cniVersion: 1", then(on("DEL"), withField("cniVersion", "99.0.0")), types.ErrIncompatibleCNIVersion),
		Entry("CHECK below 0.4.0: 1", then(on("CHECK"), withField("cniVersion", "0.3.1")), types.ErrIncompatibleCNIVersion),
		Entry("GC below 1.1.0: 1", then(global("GC"), withField("cniVersion", "1.0.0")), types.ErrIncompatibleCNIVersion),
		Entry("STATUS below 1.1.0: 1", then(global("STATUS"), withField("cniVersion", "1.0.0")), types.ErrIncompatibleCNIVersion),

		// Network namespace: the spec fixes no code.
		Entry("CNI_NETNS that does not exist", withEnv("CNI_NETNS", "/var/run/netns/cnitest-no-such-netns"), anyCNIError),
		Entry("CNI_NETNS a regular file", netnsPath(regularFile), anyCNIError),
		Entry("CNI_NETNS a directory", netnsPath(func(tmp string) string { return tmp }), anyCNIError),
		Entry("CNI_NETNS a mount namespace", withEnv("CNI_NETNS", "/proc/self/ns/mnt"), anyCNIError),
		Entry("CNI_NETNS the plugin's own netns", convention("own-netns-refused"), func(c *badCall) { c.env["CNI_NETNS"] = c.tb.host.Path() }, anyCNIError),
		Entry("CNI_IFNAME already in the pod (lo)", withEnv("CNI_IFNAME", "lo"), anyCNIError),
		Entry("CHECK in a netns that does not exist", then(on("CHECK"), withEnv("CNI_NETNS", "/var/run/netns/cnitest-no-such-netns")), anyCNIError),
		Entry("CHECK with a prevResult that is not a result", then(on("CHECK"), withField("prevResult", "garbage")), anyCNIError),
	)

	// skel prints its usage on stderr and exits 0; a plugin may instead
	// fail with code 4 so that a runtime that forgot the variable notices.
	It("without CNI_COMMAND explains itself (usage on stderr and exit 0, or error 4) and changes nothing", func() {
		c := newBadCall()
		delete(c.env, "CNI_COMMAND")
		before := c.snapshot()
		resp := c.tb.run(cnitest.Invocation{Env: c.env.List(), Config: c.config})
		if resp.Failed() {
			expectCNIError(resp, types.ErrInvalidEnvironmentVariables)
		} else {
			Expect(resp.Stdout).To(BeEmpty())
			Expect(resp.Stderr).NotTo(BeEmpty())
		}
		Expect(before.Diff(c.snapshot())).To(BeEmpty())
	})

	It("ADD into a netns that already has the interface fails and leaves that interface alone", clause("ADD"), func() {
		tb := newTestbed(version.Current())
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
		tb.expectReleased(other, "the failed ADD kept an address")
		Expect(tb.hostVeths()).To(Equal(veths), "the failed ADD left a host veth")
	})
})

// What docs/podnet.md#error-codes promises for podnet's own fields, netns and store.
var _ = Describe("podnet error contract", Label("podnet"), func() {
	DescribeTable("a bad call is refused with podnet's code and changes nothing", expectRefusedUnchanged,
		// Fields: code 7 naming the field, also for a value of the wrong JSON type (2 for ipam).
		Entry("network missing: 7", withField("network", nil), types.ErrInvalidNetworkConfig),
		Entry("network 0.0.0.0/0: 7", withField("network", "0.0.0.0/0"), types.ErrInvalidNetworkConfig),
		Entry("network not a CIDR: 7", withField("network", "10.99.0.0"), types.ErrInvalidNetworkConfig),
		Entry("network IPv6: 7", withField("network", "fd00::/48"), types.ErrInvalidNetworkConfig),
		Entry("network with host bits: 7", withField("network", "10.99.0.7/16"), types.ErrInvalidNetworkConfig),
		Entry("network a number: 7", withField("network", 10), types.ErrInvalidNetworkConfig),
		Entry("subnet missing: 7", withField("subnet", nil), types.ErrInvalidNetworkConfig),
		Entry("subnet outside network: 7", withField("subnet", "10.98.1.0/24"), types.ErrInvalidNetworkConfig),
		Entry("subnet larger than network: 7", withField("subnet", "10.98.0.0/15"), types.ErrInvalidNetworkConfig),
		Entry("subnet /31: 7", withField("subnet", "10.99.1.0/31"), types.ErrInvalidNetworkConfig),
		Entry("subnet /32: 7", withField("subnet", "10.99.1.0/32"), types.ErrInvalidNetworkConfig),
		Entry("subnet with host bits: 7", withField("subnet", "10.99.1.9/24"), types.ErrInvalidNetworkConfig),
		Entry("subnet IPv6: 7", withField("subnet", "fd00::/64"), types.ErrInvalidNetworkConfig),
		Entry("mtu 0: 7", withField("mtu", 0), types.ErrInvalidNetworkConfig),
		Entry("mtu 67: 7", withField("mtu", 67), types.ErrInvalidNetworkConfig),
		Entry("mtu 65536: 7", withField("mtu", 65536), types.ErrInvalidNetworkConfig),
		Entry("mtu a string: 7", withField("mtu", "1500"), types.ErrInvalidNetworkConfig),
		Entry("bridge empty: 7", withField("bridge", ""), types.ErrInvalidNetworkConfig),
		Entry("bridge longer than 15 characters: 7", withField("bridge", "cni0123456789abc"), types.ErrInvalidNetworkConfig),
		Entry("bridge with a slash: 7", withField("bridge", "cni/0"), types.ErrInvalidNetworkConfig),
		Entry("bridge naming an existing non-bridge device (lo): 7", withField("bridge", "lo"), types.ErrInvalidNetworkConfig),
		Entry("bridge naming an existing veth: 7", func(c *badCall) {
			inHost(c.tb, func() error {
				attrs := netlink.NewLinkAttrs()
				attrs.Name = "uplink0"
				return netlink.LinkAdd(&netlink.Veth{LinkAttrs: attrs, PeerName: "uplink0-peer"})
			})
			c.set(map[string]any{"bridge": "uplink0"})
		}, types.ErrInvalidNetworkConfig),
		Entry("ipMasq a string: 7", withField("ipMasq", "yes"), types.ErrInvalidNetworkConfig),
		Entry("hairpinMode a string: 7", withField("hairpinMode", "on"), types.ErrInvalidNetworkConfig),
		Entry("dataDir relative: 7", withField("dataDir", "var/lib/cni"), types.ErrInvalidNetworkConfig),
		Entry("dataDir empty: 7", withField("dataDir", ""), types.ErrInvalidNetworkConfig),
		Entry("logFile relative: 7", withField("logFile", "podnet.log"), types.ErrInvalidNetworkConfig),
		Entry("name of 256 characters: 7", withField("name", strings.Repeat("n", 256)), types.ErrInvalidNetworkConfig),
		Entry("ipam section with a type: 2", withField("ipam", map[string]any{"type": "host-local"}), types.ErrUnsupportedField),
		Entry("ipam section without a type: 2", withField("ipam", map[string]any{"subnet": "10.99.1.0/24"}), types.ErrUnsupportedField),
		Entry("DEL with network 0.0.0.0/0: 7", then(on("DEL"), withField("network", "0.0.0.0/0")), types.ErrInvalidNetworkConfig),
		Entry("CHECK with a bad subnet: 7", then(on("CHECK"), withField("subnet", "10.98.1.0/24")), types.ErrInvalidNetworkConfig),

		// Environment.
		Entry("CNI_COMMAND missing: 4 (not skel's usage and exit 0)", withoutEnv("CNI_COMMAND"), types.ErrInvalidEnvironmentVariables),

		// Network namespace: code 8, before anything is touched.
		Entry("CNI_NETNS that does not exist: 8", withEnv("CNI_NETNS", "/var/run/netns/cnitest-no-such-netns"), types.ErrInvalidNetNS),
		Entry("CNI_NETNS a regular file: 8", netnsPath(regularFile), types.ErrInvalidNetNS),
		Entry("CNI_NETNS a mount namespace: 8", withEnv("CNI_NETNS", "/proc/self/ns/mnt"), types.ErrInvalidNetNS),
		Entry("CNI_NETNS the plugin's own netns: 8", func(c *badCall) { c.env["CNI_NETNS"] = c.tb.host.Path() }, types.ErrInvalidNetNS),
		Entry("DEL with CNI_NETNS the plugin's own netns: 8", then(on("DEL"), func(c *badCall) { c.env["CNI_NETNS"] = c.tb.host.Path() }), types.ErrInvalidNetNS),
		Entry("CHECK with CNI_NETNS the plugin's own netns: 8", then(on("CHECK"), func(c *badCall) { c.env["CNI_NETNS"] = c.tb.host.Path() }), types.ErrInvalidNetNS),
		Entry("CNI_IFNAME already in the pod (lo): 103", withEnv("CNI_IFNAME", "lo"), uint(codeIfNameTaken)),

		// GC input.
		Entry("GC without cni.dev/valid-attachments: 7", then(global("GC"), withField("cni.dev/valid-attachments", nil)), types.ErrInvalidNetworkConfig),
		Entry("GC with the key misspelt: 7", then(global("GC"), withField("cni.dev/valid-attachments", nil),
			withField("cni.dev/valid-attachment", []types.GCAttachment{})), types.ErrInvalidNetworkConfig),
		Entry("GC with valid-attachments not a list: 7", then(global("GC"), withField("cni.dev/valid-attachments", "all")), types.ErrInvalidNetworkConfig),

		Entry("GC with an entry without ifname: 7", gcWithMalformed(0), types.ErrInvalidNetworkConfig),
		Entry("GC with an entry without containerID: 7", gcWithMalformed(1), types.ErrInvalidNetworkConfig),
		Entry("GC with an empty entry {}: 7", gcWithMalformed(2), types.ErrInvalidNetworkConfig),
		Entry(`GC with a misspelt key ("ifName"): 7`, gcWithMalformed(3), types.ErrInvalidNetworkConfig),
		Entry(`GC with a misspelt key ("containerId"): 7`, gcWithMalformed(4), types.ErrInvalidNetworkConfig),
		Entry("GC with an empty ifname: 7", gcWithMalformed(5), types.ErrInvalidNetworkConfig),
		Entry("GC with an entry without ifname in libcni's cni.dev/attachments: 7", func(c *badCall) {
			c.global("GC")
			c.set(map[string]any{"cni.dev/attachments": []any{malformedGCEntries(c.existing.id)[0].entry}})
		}, types.ErrInvalidNetworkConfig),

		// Container ID: podnet's limit, before anything is touched.
		Entry("ADD with a container ID over 1024 bytes: 4", withEnv("CNI_CONTAINERID", longContainerID), types.ErrInvalidEnvironmentVariables),
		Entry("DEL with a container ID over 1024 bytes: 4", then(on("DEL"), withEnv("CNI_CONTAINERID", longContainerID)), types.ErrInvalidEnvironmentVariables),
		Entry("CHECK with a container ID over 1024 bytes: 4", then(on("CHECK"), withEnv("CNI_CONTAINERID", longContainerID)), types.ErrInvalidEnvironmentVariables),

		// Store.
		Entry("dataDir a regular file: 5", func(c *badCall) {
			c.set(map[string]any{"dataDir": regularFile(c.tb.tmp)})
		}, types.ErrIOFailure),
	)
})

// longContainerID is one byte past podnet's container ID limit.
var longContainerID = "c" + strings.Repeat("0", 1024)

// gcWithMalformed turns the call into a GC whose only entry names the live
// attachment malformed as malformedGCEntries' i-th.
func gcWithMalformed(i int) func(*badCall) {
	return func(c *badCall) {
		c.global("GC")
		c.set(map[string]any{"cni.dev/valid-attachments": []any{malformedGCEntries(c.existing.id)[i].entry}})
	}
}

func mustWithFields(conf []byte, fields map[string]any) []byte {
	GinkgoHelper()
	out, err := cnitest.WithFields(conf, fields)
	Expect(err).NotTo(HaveOccurred())
	return out
}
