package conformance

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/containernetworking/cni/pkg/version"
	"github.com/containernetworking/plugins/pkg/ns"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/vishvananda/netlink"

	"github.com/cnigate/cnigate/cnitest"
)

// addUplink gives the host netns what a real node has and a confused plugin
// would break: an uplink eth0 with an address and the default route (a veth:
// the kernels this runs on may lack the dummy driver).
func addUplink(tb *Testbed) {
	GinkgoHelper()
	Expect(cnitest.InNS(tb.Host, func() error {
		attrs := netlink.NewLinkAttrs()
		attrs.Name = TestIfName
		if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: attrs, PeerName: "uplink-peer"}); err != nil {
			return err
		}
		l, err := netlink.LinkByName(TestIfName)
		if err != nil {
			return err
		}
		addr, err := netlink.ParseAddr("192.0.2.10/24")
		if err != nil {
			return err
		}
		if err := netlink.AddrAdd(l, addr); err != nil {
			return err
		}
		if err := netlink.LinkSetUp(l); err != nil {
			return err
		}
		return netlink.RouteAdd(&netlink.Route{LinkIndex: l.Attrs().Index, Gw: net.ParseIP("192.0.2.1")})
	})).To(Succeed())
}

var _ = Describe("CNI_NETNS naming the runtime's own netns", Label("generic"), convention("own-netns-refused"), func() {
	It("ADD, DEL and CHECK are refused and change nothing in the host, the pods or the data dir", func() {
		tb := NewTestbed(version.Current())
		a := tb.Add(tb.NewPod())
		addUplink(tb)
		snapshot := func() cnitest.Snapshot {
			s, err := cnitest.TakeSnapshot(map[string]ns.NetNS{"host": tb.Host, "pod": a.Pod},
				map[string]string{"data dir": tb.Params.DataDir})
			Expect(err).NotTo(HaveOccurred())
			return s
		}
		prev, err := a.Result.GetAsVersion(tb.Params.CNIVersion)
		Expect(err).NotTo(HaveOccurred())
		withPrev := MustWithFields(tb.Conf, map[string]any{"prevResult": prev})
		host := tb.Host.Path()
		calls := []struct {
			what string
			inv  cnitest.Invocation
		}{
			{"ADD of a new container, a new ifname", cnitest.Invocation{Command: "ADD", ContainerID: NewContainerID(), NetNS: host, IfName: "eth1"}},
			{"ADD of a new container, the uplink's ifname", cnitest.Invocation{Command: "ADD", ContainerID: NewContainerID(), NetNS: host, IfName: TestIfName}},
			{"DEL of the live attachment (its ifname is the uplink's)", cnitest.Invocation{Command: "DEL", ContainerID: a.ID, NetNS: host, IfName: TestIfName}},
			{"CHECK of the live attachment", cnitest.Invocation{Command: "CHECK", ContainerID: a.ID, NetNS: host, IfName: TestIfName, Config: withPrev}},
		}
		for _, call := range calls {
			By(call.what)
			before := snapshot()
			resp := tb.Run(call.inv)
			Expect(resp.Failed()).To(BeTrue(), "%s succeeded: %s", call.what, resp)
			_, err := resp.Error()
			Expect(err).NotTo(HaveOccurred(), "%s", call.what)
			Expect(before.Diff(snapshot())).To(BeEmpty(), "%s changed the node (+ appeared, - went away)", call.what)
		}
		Expect(tb.Check(a).Failed()).To(BeFalse(), "the live attachment was disturbed")
	})
})

// killPoints is how many SIGKILL delays the crash spec spreads evenly over
// one ADD; maxKills bounds the random ones added until both phases are hit.
const (
	killPoints   = 100
	maxKills     = 300
	minPhaseHits = 3
	// maxSyscallKills bounds the syscall-kill spec (an ADD that never ends).
	maxSyscallKills = 3000
)

var _ = Describe("a runtime crash during ADD", Label("generic"), convention("crash-recovery"), clause("DEL"), func() {
	It("SIGKILL at any point of ADD, then DEL of that attachment, leaves no reservation, no link and no rule", func() {
		tb := NewTestbed(version.Current())

		baseline, longest := cleanCycleBaseline(tb)
		span := longest * 3 / 2

		// Evenly spread kills first, then random ones until kills have
		// interrupted ADD both in its IPAM phase (a file in the data dir) and
		// in its link phase (a host or pod link) at least minPhaseHits times
		// each, or maxKills is reached.
		phases := map[string]int{}
		for i := 0; i < maxKills; i++ {
			if i >= killPoints && phases["IPAM"] >= minPhaseHits && phases["link"] >= minPhaseHits {
				break
			}
			delay := span * time.Duration(i) / killPoints
			if i >= killPoints {
				delay = time.Duration(rand.Int64N(int64(span)))
			}
			pod := tb.NewPod()
			id := NewContainerID()
			ctx, cancel := context.WithTimeout(context.Background(), tb.Timeout)
			resp, killed, err := cfg.Plugin.RunKilledAfter(ctx, tb.Host, cnitest.Invocation{
				Command: "ADD", ContainerID: id, NetNS: pod.Path(), IfName: TestIfName, Config: tb.Conf,
			}, delay)
			cancel()
			Expect(err).NotTo(HaveOccurred())
			if !killed {
				Expect(resp.Failed()).To(BeFalse(), "ADD (not killed, delay %v): %s", delay, resp)
			} else {
				left := crashState(tb, pod)
				if !slices.Equal(left.files, baseline.files) {
					phases["IPAM"]++
				}
				if !slices.Equal(left.hostLinks, baseline.hostLinks) || !slices.Equal(left.podLinks, baseline.podLinks) {
					phases["link"]++
				}
				if !left.equal(baseline) {
					phases["any"]++
				}
			}

			expectDELRestores(tb, baseline, id, pod, fmt.Sprintf("a kill at %v", delay))
			phases["kills"]++
		}
		AddReportEntry("kills, and how many interrupted ADD in each phase", phases)
		Expect(phases["IPAM"]).To(BeNumerically(">=", minPhaseHits), "too few kills in 0-%v interrupted ADD after it touched the data dir", span)
		Expect(phases["link"]).To(BeNumerically(">=", minPhaseHits), "too few kills in 0-%v interrupted ADD after it created a link", span)

		By("the store still works")
		tb.Add(tb.NewPod())
	})
})

var _ = Describe("a runtime crash during ADD, at every step", Label("generic"), convention("crash-recovery"), clause("DEL"), func() {
	It("SIGKILL just before each state-changing system call of ADD, then DEL, leaves no reservation, no link and no rule", func() {
		if runtime.GOARCH != "amd64" {
			Skip("killing at a system call needs the amd64 syscall table; the timed-kill spec covers " + runtime.GOARCH)
		}
		tb := NewTestbed(version.Current())
		baseline, _ := cleanCycleBaseline(tb)
		last, steps := killADDAtEachStep(func() *Testbed { return tb }, func(tb *Testbed, id string, pod ns.NetNS, crash string) {
			expectDELRestores(tb, baseline, id, pod, crash)
		})
		// The whole ADD ran: every step has been crash-tested.
		Expect(tb.Del(last, last.Pod.Path()).Failed()).To(BeFalse())
		Expect(namespaces.Delete(last.Pod)).To(Succeed())
		AddReportEntry("ADD killed before each of its state-changing system calls", steps)
		By("the store still works")
		tb.Add(tb.NewPod())
	})
})

// The specs above crash ADDs on a node that has done a clean ADD and DEL:
// what a node's first ADD writes once (a bridge, a marker, a cached check)
// is there by then. This one crashes the first ADD of a fresh node (its own
// host netns and data dir) at each step, so those writes are crashed too.
var _ = Describe("a runtime crash during a node's first ADD, at every step", Label("generic"), convention("crash-recovery"), clause("DEL", "GC"), func() {
	It("SIGKILL just before each state-changing system call of a node's first ADD, then DEL and GC, leaves no file in the data dir that a clean ADD and DEL would not leave", func() {
		if runtime.GOARCH != "amd64" {
			Skip("killing at a system call needs the amd64 syscall table")
		}
		// What a clean first ADD and its DEL leave on a fresh node.
		clean := NewTestbed(version.Current())
		pod := clean.NewPod()
		id := NewContainerID()
		Expect(clean.Run(cnitest.Invocation{Command: "ADD", ContainerID: id, NetNS: pod.Path()}).Failed()).To(BeFalse())
		Expect(clean.Run(cnitest.Invocation{Command: "DEL", ContainerID: id, NetNS: pod.Path()}).Failed()).To(BeFalse())
		allowed := crashState(clean, nil).files
		gc := slices.Contains(cfg.Versions, "1.1.0") // GC is a 1.1.0 command

		// a fresh node (host netns and data dir) for every kill
		_, steps := killADDAtEachStep(func() *Testbed { return NewTestbed(version.Current()) }, func(tb *Testbed, id string, pod ns.NetNS, crash string) {
			crash += " of the node's first ADD"
			// Not judged here: whether DEL succeeds (the spec above does).
			tb.Run(cnitest.Invocation{Command: "DEL", ContainerID: id, NetNS: pod.Path()})
			if gc {
				tb.Run(cnitest.Invocation{Command: "GC", Config: MustWithFields(tb.Conf,
					map[string]any{"cni.dev/valid-attachments": []any{}})})
			}
			left := crashState(tb, nil).files
			var extra []string
			for _, f := range left {
				if !slices.Contains(allowed, f) {
					extra = append(extra, f)
				}
			}
			Expect(extra).To(BeEmpty(), "files in the data dir after %s, DEL and GC that a clean ADD and DEL leave none of (a clean one leaves %v)", crash, allowed)
			Expect(namespaces.Delete(pod)).To(Succeed())
		})
		AddReportEntry("a node's first ADD killed before each of its state-changing system calls", steps)
	})
})

// killADDAtEachStep runs ADD once per state-changing system call it makes,
// killed (SIGKILL) just before the n-th, n = 1, 2, ..., each on the testbed
// node returns, in a new pod, and hands each crash to crashed. It stops at
// the first ADD that runs to its end, checks that one succeeded, and returns
// it (its pod still there) and a summary of the steps: how many, and how many
// kills landed on each system call.
func killADDAtEachStep(node func() *Testbed, crashed func(tb *Testbed, id string, pod ns.NetNS, crash string)) (Attachment, string) {
	GinkgoHelper()
	steps := map[string]int{}
	for n := 1; ; n++ {
		Expect(n).To(BeNumerically("<=", maxSyscallKills), "ADD still running after %d state-changing system calls", maxSyscallKills)
		tb := node()
		pod := tb.NewPod()
		id := NewContainerID()
		ctx, cancel := context.WithTimeout(context.Background(), tb.Timeout)
		resp, killed, at, err := cfg.Plugin.RunKilledAtSyscall(ctx, tb.Host, cnitest.Invocation{
			Command: "ADD", ContainerID: id, NetNS: pod.Path(), IfName: TestIfName, Config: tb.Conf,
		}, n)
		cancel()
		Expect(err).NotTo(HaveOccurred())
		if !killed {
			Expect(resp.Failed()).To(BeFalse(), "ADD under ptrace: %s", resp)
			return Attachment{ID: id, Pod: pod}, fmt.Sprintf("%d steps: %v", n-1, steps)
		}
		steps[at]++
		crashed(tb, id, pod, fmt.Sprintf("a kill before state-changing system call %d (%s)", n, at))
	}
}

// expectDELRestores runs DEL of the crashed attachment and checks that the
// node is back to the baseline: no link, no reservation, no rule.
func expectDELRestores(tb *Testbed, baseline crashFacts, id string, pod ns.NetNS, crash string) {
	GinkgoHelper()
	del := tb.Run(cnitest.Invocation{Command: "DEL", ContainerID: id, NetNS: pod.Path()})
	Expect(del.Failed()).To(BeFalse(), "DEL after %s: %s", crash, del)
	after := crashState(tb, pod)
	Expect(after.hostLinks).To(Equal(baseline.hostLinks), "host links after %s and DEL", crash)
	Expect(after.podLinks).To(Equal([]string{"lo"}), "pod links after %s and DEL", crash)
	Expect(after.files).To(Equal(baseline.files), "data dir after %s and DEL", crash)
	Expect(after.rules).To(Equal(baseline.rules), "iptables after %s and DEL", crash)
	tb.ExpectReleased(id, "reservation after %s and DEL", crash)
	Expect(namespaces.Delete(pod)).To(Succeed())
}

// cleanCycleBaseline runs ADD+DEL cycles and returns what they leave (the
// bridge, a store lock, node-wide rules: the state a crashed ADD + DEL must
// return to) and the longest ADD.
func cleanCycleBaseline(tb *Testbed) (crashFacts, time.Duration) {
	GinkgoHelper()
	var longest time.Duration
	for range 3 {
		pod := tb.NewPod()
		id := NewContainerID()
		resp := tb.Run(cnitest.Invocation{Command: "ADD", ContainerID: id, NetNS: pod.Path()})
		Expect(resp.Failed()).To(BeFalse(), "ADD: %s", resp)
		longest = max(longest, resp.Duration)
		Expect(tb.Run(cnitest.Invocation{Command: "DEL", ContainerID: id, NetNS: pod.Path()}).Failed()).To(BeFalse())
		Expect(namespaces.Delete(pod)).To(Succeed())
	}
	baseline := crashState(tb, nil)
	baseline.podLinks = []string{"lo"}
	return baseline, longest
}

// crashFacts is what a crashed ADD could leave behind.
type crashFacts struct {
	hostLinks, podLinks, files, rules []string
}

func (c crashFacts) equal(o crashFacts) bool {
	return slices.Equal(c.hostLinks, o.hostLinks) && slices.Equal(c.podLinks, o.podLinks) &&
		slices.Equal(c.files, o.files) && slices.Equal(c.rules, o.rules)
}

// crashState reads the host's link names, the pod's (when pod is not nil),
// the names of the files in the data dir (contents such as a "last
// reserved" marker may legitimately move on) and the host's iptables rules.
func crashState(tb *Testbed, pod ns.NetNS) crashFacts {
	GinkgoHelper()
	var c crashFacts
	var err error
	c.hostLinks, err = cnitest.LinkNames(tb.Host)
	Expect(err).NotTo(HaveOccurred())
	if pod != nil {
		c.podLinks, err = cnitest.LinkNames(pod)
		Expect(err).NotTo(HaveOccurred())
	}
	files, err := cnitest.RegularFiles(tb.Params.DataDir)
	Expect(err).NotTo(HaveOccurred())
	for _, f := range files {
		rel, _ := filepath.Rel(tb.Params.DataDir, f)
		c.files = append(c.files, rel)
	}
	sort.Strings(c.files)
	snap, err := cnitest.TakeSnapshot(map[string]ns.NetNS{"host": tb.Host}, nil)
	Expect(err).NotTo(HaveOccurred())
	for _, f := range snap["host"] {
		if strings.HasPrefix(f, "iptables ") || strings.HasPrefix(f, "ip6tables ") {
			c.rules = append(c.rules, f)
		}
	}
	return c
}
