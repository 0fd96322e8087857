package netnstests_test

import (
	"context"
	"net"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/containernetworking/cni/pkg/version"
	"github.com/containernetworking/plugins/pkg/ns"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/vishvananda/netlink"

	"github.com/cnigate/cnigate/netns-tests/cnitest"
)

// addUplink gives the host netns what a real node has and a confused plugin
// would break: an uplink eth0 with an address and the default route (a veth:
// the kernels this runs on may lack the dummy driver).
func addUplink(tb *testbed) {
	GinkgoHelper()
	Expect(cnitest.InNS(tb.host, func() error {
		attrs := netlink.NewLinkAttrs()
		attrs.Name = testIfName
		if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: attrs, PeerName: "uplink-peer"}); err != nil {
			return err
		}
		l, err := netlink.LinkByName(testIfName)
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

var _ = Describe("CNI_NETNS naming the runtime's own netns", Label("generic"), func() {
	It("ADD, DEL and CHECK are refused and change nothing in the host, the pods or the data dir", func() {
		tb := newTestbed(version.Current())
		a := tb.add(tb.newPod())
		addUplink(tb)
		snapshot := func() cnitest.Snapshot {
			s, err := cnitest.TakeSnapshot(map[string]ns.NetNS{"host": tb.host, "pod": a.pod},
				map[string]string{"data dir": tb.params.DataDir})
			Expect(err).NotTo(HaveOccurred())
			return s
		}
		prev, err := a.result.GetAsVersion(tb.params.CNIVersion)
		Expect(err).NotTo(HaveOccurred())
		withPrev := mustWithFields(tb.conf, map[string]any{"prevResult": prev})
		host := tb.host.Path()
		calls := []struct {
			what string
			inv  cnitest.Invocation
		}{
			{"ADD of a new container, a new ifname", cnitest.Invocation{Command: "ADD", ContainerID: newContainerID(), NetNS: host, IfName: "eth1"}},
			{"ADD of a new container, the uplink's ifname", cnitest.Invocation{Command: "ADD", ContainerID: newContainerID(), NetNS: host, IfName: testIfName}},
			{"DEL of the live attachment (its ifname is the uplink's)", cnitest.Invocation{Command: "DEL", ContainerID: a.id, NetNS: host, IfName: testIfName}},
			{"CHECK of the live attachment", cnitest.Invocation{Command: "CHECK", ContainerID: a.id, NetNS: host, IfName: testIfName, Config: withPrev}},
		}
		for _, call := range calls {
			By(call.what)
			before := snapshot()
			resp := tb.run(call.inv)
			Expect(resp.Failed()).To(BeTrue(), "%s succeeded: %s", call.what, resp)
			_, err := resp.Error()
			Expect(err).NotTo(HaveOccurred(), "%s", call.what)
			Expect(before.Diff(snapshot())).To(BeEmpty(), "%s changed the node (+ appeared, - went away)", call.what)
		}
		Expect(tb.check(a).Failed()).To(BeFalse(), "the live attachment was disturbed")
	})
})

// killPoints is how many SIGKILL delays the crash spec spreads over one ADD.
const killPoints = 40

var _ = Describe("a runtime crash during ADD", Label("generic"), func() {
	It("SIGKILL at any point of ADD, then DEL of that attachment, leaves no reservation, no link and no rule", func() {
		tb := newTestbed(version.Current())

		// A clean ADD+DEL cycle first: what it leaves (bridge, store lock,
		// node-wide rules) is the baseline a crashed ADD + DEL must return to.
		// Its duration sets the span the kills are spread over.
		var durations []time.Duration
		for range 3 {
			pod := tb.newPod()
			id := newContainerID()
			resp := tb.run(cnitest.Invocation{Command: "ADD", ContainerID: id, NetNS: pod.Path()})
			Expect(resp.Failed()).To(BeFalse(), "ADD: %s", resp)
			durations = append(durations, resp.Duration)
			Expect(tb.run(cnitest.Invocation{Command: "DEL", ContainerID: id, NetNS: pod.Path()}).Failed()).To(BeFalse())
			Expect(namespaces.Delete(pod)).To(Succeed())
		}
		span := slices.Max(durations) * 3 / 2
		baseline := crashState(tb, nil)
		baseline.podLinks = []string{"lo"}

		leftBehind := 0 // kills that interrupted the ADD with something already done
		for i := range killPoints {
			delay := span * time.Duration(i) / killPoints
			pod := tb.newPod()
			id := newContainerID()
			ctx, cancel := context.WithTimeout(context.Background(), tb.timeout)
			resp, killed, err := cfg.plugin.RunKilledAfter(ctx, tb.host, cnitest.Invocation{
				Command: "ADD", ContainerID: id, NetNS: pod.Path(), IfName: testIfName, Config: tb.conf,
			}, delay)
			cancel()
			Expect(err).NotTo(HaveOccurred())
			if !killed {
				Expect(resp.Failed()).To(BeFalse(), "ADD (not killed, delay %v): %s", delay, resp)
			}
			if killed && !crashState(tb, pod).equal(baseline) {
				leftBehind++
			}

			del := tb.run(cnitest.Invocation{Command: "DEL", ContainerID: id, NetNS: pod.Path()})
			Expect(del.Failed()).To(BeFalse(), "DEL after a kill at %v: %s", delay, del)
			after := crashState(tb, pod)
			Expect(after.hostLinks).To(Equal(baseline.hostLinks), "host links after a kill at %v and DEL", delay)
			Expect(after.podLinks).To(Equal([]string{"lo"}), "pod links after a kill at %v and DEL", delay)
			Expect(after.files).To(Equal(baseline.files), "data dir after a kill at %v and DEL", delay)
			Expect(after.rules).To(Equal(baseline.rules), "iptables after a kill at %v and DEL", delay)
			Expect(tb.reservations(id)).To(BeEmpty())
			Expect(namespaces.Delete(pod)).To(Succeed())
		}
		AddReportEntry("kills that interrupted an ADD part-way", leftBehind)
		Expect(leftBehind).To(BeNumerically(">", 0),
			"no kill in 0-%v interrupted an ADD part-way: the spec tested nothing", span)

		By("the store still works")
		tb.add(tb.newPod())
	})
})

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
func crashState(tb *testbed, pod ns.NetNS) crashFacts {
	GinkgoHelper()
	var c crashFacts
	var err error
	c.hostLinks, err = cnitest.LinkNames(tb.host)
	Expect(err).NotTo(HaveOccurred())
	if pod != nil {
		c.podLinks, err = cnitest.LinkNames(pod)
		Expect(err).NotTo(HaveOccurred())
	}
	files, err := cnitest.RegularFiles(tb.params.DataDir)
	Expect(err).NotTo(HaveOccurred())
	for _, f := range files {
		rel, _ := filepath.Rel(tb.params.DataDir, f)
		c.files = append(c.files, rel)
	}
	sort.Strings(c.files)
	snap, err := cnitest.TakeSnapshot(map[string]ns.NetNS{"host": tb.host}, nil)
	Expect(err).NotTo(HaveOccurred())
	for _, f := range snap["host"] {
		if len(f) > 9 && f[:9] == "iptables " {
			c.rules = append(c.rules, f)
		}
	}
	return c
}
