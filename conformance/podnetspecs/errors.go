package podnetspecs

import (
	"strings"

	"github.com/containernetworking/cni/pkg/types"
	. "github.com/onsi/ginkgo/v2"
	"github.com/vishvananda/netlink"

	"github.com/cnigate/cnigate/conformance"
)

// What docs/podnet.md#error-codes promises for podnet's own fields, netns and store.
var _ = Describe("podnet error contract", Label("podnet"), func() {
	DescribeTable("a bad call is refused with podnet's code and changes nothing", conformance.ExpectRefusedUnchanged,
		// Fields: code 7 naming the field, also for a value of the wrong JSON type (2 for ipam).
		Entry("network missing: 7", conformance.WithField("network", nil), types.ErrInvalidNetworkConfig),
		Entry("network 0.0.0.0/0: 7", conformance.WithField("network", "0.0.0.0/0"), types.ErrInvalidNetworkConfig),
		Entry("network not a CIDR: 7", conformance.WithField("network", "10.99.0.0"), types.ErrInvalidNetworkConfig),
		Entry("network IPv6: 7", conformance.WithField("network", "fd00::/48"), types.ErrInvalidNetworkConfig),
		Entry("network with host bits: 7", conformance.WithField("network", "10.99.0.7/16"), types.ErrInvalidNetworkConfig),
		Entry("network a number: 7", conformance.WithField("network", 10), types.ErrInvalidNetworkConfig),
		Entry("subnet missing: 7", conformance.WithField("subnet", nil), types.ErrInvalidNetworkConfig),
		Entry("subnet outside network: 7", conformance.WithField("subnet", "10.98.1.0/24"), types.ErrInvalidNetworkConfig),
		Entry("subnet larger than network: 7", conformance.WithField("subnet", "10.98.0.0/15"), types.ErrInvalidNetworkConfig),
		Entry("subnet /31: 7", conformance.WithField("subnet", "10.99.1.0/31"), types.ErrInvalidNetworkConfig),
		Entry("subnet /32: 7", conformance.WithField("subnet", "10.99.1.0/32"), types.ErrInvalidNetworkConfig),
		Entry("subnet with host bits: 7", conformance.WithField("subnet", "10.99.1.9/24"), types.ErrInvalidNetworkConfig),
		Entry("subnet IPv6: 7", conformance.WithField("subnet", "fd00::/64"), types.ErrInvalidNetworkConfig),
		Entry("mtu 0: 7", conformance.WithField("mtu", 0), types.ErrInvalidNetworkConfig),
		Entry("mtu 67: 7", conformance.WithField("mtu", 67), types.ErrInvalidNetworkConfig),
		Entry("mtu 65536: 7", conformance.WithField("mtu", 65536), types.ErrInvalidNetworkConfig),
		Entry("mtu a string: 7", conformance.WithField("mtu", "1500"), types.ErrInvalidNetworkConfig),
		Entry("bridge empty: 7", conformance.WithField("bridge", ""), types.ErrInvalidNetworkConfig),
		Entry("bridge longer than 15 characters: 7", conformance.WithField("bridge", "cni0123456789abc"), types.ErrInvalidNetworkConfig),
		Entry("bridge with a slash: 7", conformance.WithField("bridge", "cni/0"), types.ErrInvalidNetworkConfig),
		Entry("bridge naming an existing non-bridge device (lo): 7", conformance.WithField("bridge", "lo"), types.ErrInvalidNetworkConfig),
		Entry("bridge naming an existing veth: 7", func(c *conformance.BadCall) {
			inHost(c.TB, func() error {
				attrs := netlink.NewLinkAttrs()
				attrs.Name = "uplink0"
				return netlink.LinkAdd(&netlink.Veth{LinkAttrs: attrs, PeerName: "uplink0-peer"})
			})
			c.Set(map[string]any{"bridge": "uplink0"})
		}, types.ErrInvalidNetworkConfig),
		Entry("ipMasq a string: 7", conformance.WithField("ipMasq", "yes"), types.ErrInvalidNetworkConfig),
		Entry("hairpinMode a string: 7", conformance.WithField("hairpinMode", "on"), types.ErrInvalidNetworkConfig),
		Entry("dataDir relative: 7", conformance.WithField("dataDir", "var/lib/cni"), types.ErrInvalidNetworkConfig),
		Entry("dataDir empty: 7", conformance.WithField("dataDir", ""), types.ErrInvalidNetworkConfig),
		Entry("logFile relative: 7", conformance.WithField("logFile", "podnet.log"), types.ErrInvalidNetworkConfig),
		Entry("name of 256 characters: 7", conformance.WithField("name", strings.Repeat("n", 256)), types.ErrInvalidNetworkConfig),
		Entry("ipam section with a type: 2", conformance.WithField("ipam", map[string]any{"type": "host-local"}), types.ErrUnsupportedField),
		Entry("ipam section without a type: 2", conformance.WithField("ipam", map[string]any{"subnet": "10.99.1.0/24"}), types.ErrUnsupportedField),
		Entry("DEL with network 0.0.0.0/0: 7", conformance.Then(conformance.On("DEL"), conformance.WithField("network", "0.0.0.0/0")), types.ErrInvalidNetworkConfig),
		Entry("CHECK with a bad subnet: 7", conformance.Then(conformance.On("CHECK"), conformance.WithField("subnet", "10.98.1.0/24")), types.ErrInvalidNetworkConfig),

		// Environment.
		Entry("CNI_COMMAND missing: 4 (not skel's usage and exit 0)", conformance.WithoutEnv("CNI_COMMAND"), types.ErrInvalidEnvironmentVariables),

		// Network namespace: code 8, before anything is touched.
		Entry("CNI_NETNS that does not exist: 8", conformance.WithEnv("CNI_NETNS", "/var/run/netns/cnitest-no-such-netns"), types.ErrInvalidNetNS),
		Entry("CNI_NETNS a regular file: 8", conformance.NetnsPath(conformance.RegularFile), types.ErrInvalidNetNS),
		Entry("CNI_NETNS a mount namespace: 8", conformance.WithEnv("CNI_NETNS", "/proc/self/ns/mnt"), types.ErrInvalidNetNS),
		Entry("CNI_NETNS the plugin's own netns: 8", func(c *conformance.BadCall) { c.Env["CNI_NETNS"] = c.TB.Host.Path() }, types.ErrInvalidNetNS),
		Entry("DEL with CNI_NETNS the plugin's own netns: 8", conformance.Then(conformance.On("DEL"), func(c *conformance.BadCall) { c.Env["CNI_NETNS"] = c.TB.Host.Path() }), types.ErrInvalidNetNS),
		Entry("CHECK with CNI_NETNS the plugin's own netns: 8", conformance.Then(conformance.On("CHECK"), func(c *conformance.BadCall) { c.Env["CNI_NETNS"] = c.TB.Host.Path() }), types.ErrInvalidNetNS),
		Entry("CNI_IFNAME already in the pod (lo): 103", conformance.WithEnv("CNI_IFNAME", "lo"), uint(codeIfNameTaken)),

		// GC input.
		Entry("GC without cni.dev/valid-attachments: 7", conformance.Then(conformance.Global("GC"), conformance.WithField("cni.dev/valid-attachments", nil)), types.ErrInvalidNetworkConfig),
		Entry("GC with the key misspelt: 7", conformance.Then(conformance.Global("GC"), conformance.WithField("cni.dev/valid-attachments", nil),
			conformance.WithField("cni.dev/valid-attachment", []types.GCAttachment{})), types.ErrInvalidNetworkConfig),
		Entry("GC with valid-attachments not a list: 7", conformance.Then(conformance.Global("GC"), conformance.WithField("cni.dev/valid-attachments", "all")), types.ErrInvalidNetworkConfig),

		Entry("GC with an entry without ifname: 7", gcWithMalformed(0), types.ErrInvalidNetworkConfig),
		Entry("GC with an entry without containerID: 7", gcWithMalformed(1), types.ErrInvalidNetworkConfig),
		Entry("GC with an empty entry {}: 7", gcWithMalformed(2), types.ErrInvalidNetworkConfig),
		Entry(`GC with a misspelt key ("ifName"): 7`, gcWithMalformed(3), types.ErrInvalidNetworkConfig),
		Entry(`GC with a misspelt key ("containerId"): 7`, gcWithMalformed(4), types.ErrInvalidNetworkConfig),
		Entry("GC with an empty ifname: 7", gcWithMalformed(5), types.ErrInvalidNetworkConfig),
		Entry("GC with an entry without ifname in libcni's cni.dev/attachments: 7", func(c *conformance.BadCall) {
			c.Global("GC")
			c.Set(map[string]any{"cni.dev/attachments": []any{conformance.MalformedGCEntries(c.Existing.ID)[0].Entry}})
		}, types.ErrInvalidNetworkConfig),

		// Container ID: podnet's limit, before anything is touched.
		Entry("ADD with a container ID over 1024 bytes: 4", conformance.WithEnv("CNI_CONTAINERID", longContainerID), types.ErrInvalidEnvironmentVariables),
		Entry("DEL with a container ID over 1024 bytes: 4", conformance.Then(conformance.On("DEL"), conformance.WithEnv("CNI_CONTAINERID", longContainerID)), types.ErrInvalidEnvironmentVariables),
		Entry("CHECK with a container ID over 1024 bytes: 4", conformance.Then(conformance.On("CHECK"), conformance.WithEnv("CNI_CONTAINERID", longContainerID)), types.ErrInvalidEnvironmentVariables),

		// Store.
		Entry("dataDir a regular file: 5", func(c *conformance.BadCall) {
			c.Set(map[string]any{"dataDir": conformance.RegularFile(c.TB.Tmp)})
		}, types.ErrIOFailure),
	)
})

// longContainerID is one byte past podnet's container ID limit.
var longContainerID = "c" + strings.Repeat("0", 1024)

// gcWithMalformed turns the call into a GC whose only entry names the live
// attachment malformed as malformedGCEntries' i-th.
func gcWithMalformed(i int) func(*conformance.BadCall) {
	return func(c *conformance.BadCall) {
		c.Global("GC")
		c.Set(map[string]any{"cni.dev/valid-attachments": []any{conformance.MalformedGCEntries(c.Existing.ID)[i].Entry}})
	}
}
