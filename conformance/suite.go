package conformance

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/coreos/go-iptables/iptables"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/cnigate/cnigate/cnitest"
)

// Test networks. Every spec has its own host netns, so specs never collide.
const (
	TestNetwork = "10.99.0.0/16"
	TestSubnet  = "10.99.1.0/24"
	// The IPv6 pair, for the plugins that claim ipv6 (profile
	// dataPath.families): a ULA, a /64 per node as Kubernetes hands out.
	testNetwork6 = "fd00:10:99::/48"
	testSubnet6  = "fd00:10:99:1::/64"
	TestMTU      = 1400 // not the kernel's default, so a plugin ignoring "mtu" is caught
	TestIfName   = "eth0"
	TestNetName  = "cnitest"
)

// SuiteConfig is what the suite runs against, set by Run.
type SuiteConfig struct {
	Plugin   cnitest.Plugin
	NetConf  *cnitest.NetConfTemplate
	profile  Profile
	Versions []string // what the plugin's VERSION claims
	// chainCNIPath is the directory holding upstream portmap, chained after
	// the plugin under test in the chaining specs ("": they are skipped).
	chainCNIPath string
}

// Config is what the suite runs against, for the plugin's own specs
// (conformance/podnetspecs).
func Config() SuiteConfig { return cfg }

var (
	cfg        SuiteConfig
	namespaces = cnitest.NewNamespaces()
	tempRoot   string // parent of every spec's temp dir, checked at the end
)

// rootHostRules are the real host's iptables rules before the suite, to prove
// at the end that the suite never touched them.
var rootHostRules []string

var _ = BeforeSuite(func() {
	GinkgoWriter.Printf("plugin %s (CNI_PATH %s), versions %v\n", cfg.Plugin.Path, cfg.Plugin.CNIPath, cfg.Versions)
	var err error
	tempRoot, err = os.MkdirTemp("", "cnitest-")
	Expect(err).NotTo(HaveOccurred())
	rootHostRules = rulesMentioning(testNetworkTexts()...)
})

var _ = AfterSuite(func() {
	Expect(namespaces.Leftovers()).To(BeEmpty(), "network namespaces left behind")
	left, err := os.ReadDir(tempRoot)
	Expect(err).NotTo(HaveOccurred())
	Expect(left).To(BeEmpty(), "temp dirs left behind in %s", tempRoot)
	Expect(os.Remove(tempRoot)).To(Succeed())
	Expect(rulesMentioning(testNetworkTexts()...)).To(Equal(rootHostRules),
		"the real host's iptables or ip6tables rules changed")
	_, err = os.Stat("/sys/class/net/cni0")
	Expect(os.IsNotExist(err)).To(BeTrue(), "a cni0 bridge appeared on the real host")
})

// testNetworkTexts are what a rule about the test networks contains: the
// IPv4 network's first octets and the IPv6 network's prefix.
func testNetworkTexts() []string {
	return []string{
		TestNetwork[:strings.LastIndex(TestNetwork, ".")],
		strings.TrimSuffix(testNetwork6, ":/48"),
	}
}

// rulesMentioning lists the real host's filter and nat rules, IPv4 and IPv6,
// containing any of texts. Both tools are required: a host where they cannot
// be read fails the check rather than passing it unseen.
func rulesMentioning(texts ...string) []string {
	var found []string
	for _, proto := range []iptables.Protocol{iptables.ProtocolIPv4, iptables.ProtocolIPv6} {
		tool := map[iptables.Protocol]string{iptables.ProtocolIPv4: "iptables", iptables.ProtocolIPv6: "ip6tables"}[proto]
		ipt, err := iptables.New(iptables.IPFamily(proto))
		Expect(err).NotTo(HaveOccurred(), "reading the real host's %s rules", tool)
		for _, table := range []string{"filter", "nat"} {
			chains, err := ipt.ListChains(table)
			Expect(err).NotTo(HaveOccurred())
			for _, chain := range chains {
				rules, err := ipt.List(table, chain)
				Expect(err).NotTo(HaveOccurred())
				for _, r := range rules {
					for _, text := range texts {
						if strings.Contains(r, text) {
							found = append(found, tool+" "+table+" "+r)
							break
						}
					}
				}
			}
		}
	}
	return found
}

// Testbed is one spec's world: a host netns where the plugin runs, a fresh
// data dir, and the pods it attaches. Everything is removed by DeferCleanup.
type Testbed struct {
	Host    ns.NetNS
	Tmp     string
	Params  cnitest.NetConfParams
	Conf    []byte
	Timeout time.Duration
}

// NewTestbed makes a spec's testbed for cniVersion, with the netconf parameters tweaked.
func NewTestbed(cniVersion string, tweaks ...func(*cnitest.NetConfParams)) *Testbed {
	GinkgoHelper()
	tmp, err := os.MkdirTemp(tempRoot, "spec-")
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(os.RemoveAll, tmp)
	host, err := namespaces.New()
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(namespaces.Delete, host)

	tb := &Testbed{Host: host, Tmp: tmp, Timeout: time.Minute, Params: cnitest.NetConfParams{
		CNIVersion: cniVersion, Name: TestNetName, DataDir: filepath.Join(tmp, "data"),
		Network: TestNetwork, Subnet: TestSubnet, Network6: testNetwork6, Subnet6: testSubnet6, MTU: TestMTU,
	}}
	for _, t := range tweaks {
		t(&tb.Params)
	}
	tb.Conf, err = cfg.NetConf.Render(tb.Params)
	Expect(err).NotTo(HaveOccurred())
	for _, fixture := range []string{cfg.profile.Fixtures.Uplink, cfg.profile.Fixtures.Device} {
		if fixture != "" {
			Expect(cnitest.AddHostDevice(host, fixture)).To(Succeed(), "fixture %s", fixture)
		}
	}
	return tb
}

// WithSubnet tweaks the testbed's IPv4 subnet.
func WithSubnet(subnet string) func(*cnitest.NetConfParams) {
	return func(p *cnitest.NetConfParams) { p.Subnet = subnet }
}

// families are the profile's, but for ipv6 in a testbed whose netconf was
// made IPv4-only (withoutIPv6).
func (tb *Testbed) families() []string {
	var families []string
	for _, f := range cfg.profile.DataPath.families() {
		if f != "ipv6" || tb.Params.Subnet6 != "" {
			families = append(families, f)
		}
	}
	return families
}

func withSubnet6(subnet string) func(*cnitest.NetConfParams) {
	return func(p *cnitest.NetConfParams) { p.Subnet6 = subnet }
}

// WithoutIPv6 leaves the IPv6 knobs out of a plain netconf (its IPv4-only
// form); a template does not use them.
func WithoutIPv6(p *cnitest.NetConfParams) { p.Network6, p.Subnet6 = "", "" }

// Snapshot records the host, the given pods ("pod a", "pod b", ...) and
// the data dir, for specs that check a refused or failed command changed
// nothing.
func (tb *Testbed) Snapshot(pods ...ns.NetNS) cnitest.Snapshot {
	GinkgoHelper()
	netnses := map[string]ns.NetNS{"host": tb.Host}
	for i, p := range pods {
		netnses["pod "+string(rune('a'+i))] = p
	}
	s, err := cnitest.TakeSnapshot(netnses, map[string]string{"data dir": tb.Params.DataDir})
	Expect(err).NotTo(HaveOccurred())
	return s
}

// NewPod creates a pod netns, deleted when the spec ends.
func (tb *Testbed) NewPod() ns.NetNS {
	GinkgoHelper()
	pod, err := namespaces.New()
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() {
		if _, err := os.Stat(pod.Path()); err == nil {
			Expect(namespaces.Delete(pod)).To(Succeed())
		}
	})
	return pod
}

// NewContainerID is a fresh, unique container ID.
func NewContainerID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "ctr-" + hex.EncodeToString(b)
}

// Run invokes the plugin in the host netns.
func (tb *Testbed) Run(inv cnitest.Invocation) cnitest.Response {
	GinkgoHelper()
	if inv.Config == nil {
		inv.Config = tb.Conf
	}
	if inv.IfName == "" && inv.Env == nil {
		inv.IfName = TestIfName
	}
	ctx, cancel := context.WithTimeout(context.Background(), tb.Timeout)
	defer cancel()
	resp, err := cfg.Plugin.Run(ctx, tb.Host, inv)
	Expect(err).NotTo(HaveOccurred())
	return resp
}

// Attachment is one ADDed pod interface.
type Attachment struct {
	ID     string
	Pod    ns.NetNS
	Result *current.Result
}

// Add ADDs a new container in pod and expects success.
func (tb *Testbed) Add(pod ns.NetNS) Attachment {
	GinkgoHelper()
	a := Attachment{ID: NewContainerID(), Pod: pod}
	resp := tb.Run(cnitest.Invocation{Command: "ADD", ContainerID: a.ID, NetNS: pod.Path()})
	Expect(resp.Failed()).To(BeFalse(), "ADD failed: %s", resp)
	var err error
	a.Result, err = resp.Result(tb.Params.CNIVersion)
	Expect(err).NotTo(HaveOccurred())
	return a
}

// Del runs DEL for the attachment with CNI_NETNS netnsPath.
func (tb *Testbed) Del(a Attachment, netnsPath string) cnitest.Response {
	GinkgoHelper()
	return tb.Run(cnitest.Invocation{Command: "DEL", ContainerID: a.ID, NetNS: netnsPath})
}

// Check runs CHECK with the attachment's result as prevResult.
func (tb *Testbed) Check(a Attachment) cnitest.Response {
	GinkgoHelper()
	prev, err := a.Result.GetAsVersion(tb.Params.CNIVersion)
	Expect(err).NotTo(HaveOccurred())
	conf, err := cnitest.WithFields(tb.Conf, map[string]any{"prevResult": prev})
	Expect(err).NotTo(HaveOccurred())
	return tb.Run(cnitest.Invocation{Command: "CHECK", ContainerID: a.ID, NetNS: a.Pod.Path(), Config: conf})
}

// reservations lists the plugin's reservations mentioning containerID, from
// where the profile says they live: files under the data dir, or the lines
// the profile's command prints.
func (tb *Testbed) reservations(containerID string) []string {
	GinkgoHelper()
	switch cfg.profile.IPAM.Kind {
	case IPAMCommand:
		lines, err := cnitest.CommandLinesMentioning(tb.Host, cfg.profile.IPAM.Command, tb.Params.DataDir, containerID)
		Expect(err).NotTo(HaveOccurred())
		return lines
	case IPAMNone:
		return nil
	}
	files, err := cnitest.FilesMentioning(tb.Params.DataDir, containerID)
	Expect(err).NotTo(HaveOccurred())
	return files
}

// expectReserved checks the plugin holds a reservation for containerID;
// with no readable IPAM state (profile ipam.kind none) it records that the
// check was not made.
func (tb *Testbed) expectReserved(containerID string, explain ...any) {
	GinkgoHelper()
	if cfg.profile.IPAM.Kind == IPAMNone {
		AddReportEntry("profile: ipam.kind none: reservation not checked")
		return
	}
	Expect(tb.reservations(containerID)).NotTo(BeEmpty(), explain...)
}

// ExpectReleased checks the plugin holds no reservation for containerID.
func (tb *Testbed) ExpectReleased(containerID string, explain ...any) {
	GinkgoHelper()
	if cfg.profile.IPAM.Kind == IPAMNone {
		AddReportEntry("profile: ipam.kind none: release not checked")
		return
	}
	Expect(tb.reservations(containerID)).To(BeEmpty(), explain...)
}

// HostVeths lists the veth interfaces in the host netns the plugin made
// (not the profile's fixtures).
func (tb *Testbed) HostVeths() []string {
	GinkgoHelper()
	links, err := cnitest.LinksIn(tb.Host)
	Expect(err).NotTo(HaveOccurred())
	var veths []string
	for _, l := range links {
		if l.Type == "veth" && !cfg.profile.Fixtures.isFixture(l.Name) {
			veths = append(veths, l.Name)
		}
	}
	return veths
}

// PodIP is the first address of the result, without prefix.
func PodIP(r *current.Result) string {
	GinkgoHelper()
	Expect(r.IPs).NotTo(BeEmpty(), "result has no IP")
	return r.IPs[0].Address.IP.String()
}

// ExpectCNIError checks resp is a CNI error of that code.
func ExpectCNIError(resp cnitest.Response, code uint) {
	GinkgoHelper()
	Expect(resp.Failed()).To(BeTrue(), "expected a failure, got %s", resp)
	cniErr, err := resp.Error()
	Expect(err).NotTo(HaveOccurred())
	Expect(cniErr.Code).To(Equal(code), "error %+v", cniErr)
}

// ExpectPodConfigured checks the kernel state of the pod against the result.
func ExpectPodConfigured(tb *Testbed, a Attachment) {
	GinkgoHelper()
	link, found, err := cnitest.LinkIn(a.Pod, TestIfName)
	Expect(err).NotTo(HaveOccurred())
	Expect(found).To(BeTrue(), "%s missing from the pod netns", TestIfName)
	Expect(link.Up).To(BeTrue(), "%s is down", TestIfName)
	if cfg.NetConf.IsTemplate() || cfg.NetConf.Knobs().MTU != "" {
		Expect(link.MTU).To(Equal(tb.Params.MTU), "MTU of %s", TestIfName)
	}
	for _, family := range tb.families() {
		Expect(a.Result.IPs).To(ContainElement(WithTransform(familyOf, Equal(family))),
			"the result has no %s address (profile dataPath.families)", family)
	}
	for _, ipc := range a.Result.IPs {
		addrs, gateway := link.Addrs, link.DefaultGateway
		if familyOf(ipc) == "ipv6" {
			addrs, gateway = link.Addrs6, link.DefaultGateway6
		}
		Expect(addrs).To(ContainElement(ipc.Address.String()), "result address on %s", TestIfName)
		if ipc.Gateway != nil {
			Expect(gateway).NotTo(BeNil(), "no %s default route via %s", familyOf(ipc), TestIfName)
			Expect(gateway.String()).To(Equal(ipc.Gateway.String()), "%s default route gateway", familyOf(ipc))
		}
	}
	for _, iface := range a.Result.Interfaces {
		if iface.Sandbox != "" && iface.Name == TestIfName {
			Expect(iface.Mac).To(Equal(link.MAC), "result MAC of %s", TestIfName)
			Expect(iface.Sandbox).To(Equal(a.Pod.Path()), "result sandbox of %s", TestIfName)
		}
	}
}

// familyOf is ipv4 or ipv6, as profiles name address families.
func familyOf(ipc *current.IPConfig) string {
	if ipc.Address.IP.To4() != nil {
		return "ipv4"
	}
	return "ipv6"
}

// ResultIP is the result's first address of family; the spec fails when
// there is none (a plugin claiming the family must hand one out).
func ResultIP(r *current.Result, family string) *current.IPConfig {
	GinkgoHelper()
	for _, ipc := range r.IPs {
		if familyOf(ipc) == family {
			return ipc
		}
	}
	Fail(fmt.Sprintf("the result has no %s address, though the profile claims %s (dataPath.families): %v", family, family, r.IPs))
	return nil
}

func removeFile(path string) error { return os.Remove(path) }
