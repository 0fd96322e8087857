package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/containernetworking/plugins/pkg/ns"

	"github.com/cnigate/cnigate/results"
)

// Only the arithmetic is tested: timings are measured, never asserted.
func TestPercentileIsNearestRank(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- { // unsorted on purpose
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	for p, want := range map[float64]time.Duration{50: 50 * time.Millisecond, 90: 90 * time.Millisecond, 99: 99 * time.Millisecond, 100: 100 * time.Millisecond} {
		if got := percentile(ds, p); got != want {
			t.Errorf("p%v = %v, want %v", p, got, want)
		}
	}
	if got := percentile([]time.Duration{7}, 99); got != 7 {
		t.Errorf("p99 of one sample = %v", got)
	}
	if got := percentile(nil, 50); got != 0 {
		t.Errorf("p50 of nothing = %v", got)
	}
}

func TestMedianAndRatio(t *testing.T) {
	if got := median([]float64{3, 1, 2}); got != 2 {
		t.Errorf("median odd = %v", got)
	}
	if got := median([]float64{4, 1, 3, 2}); got != 2.5 {
		t.Errorf("median even = %v", got)
	}
	if got := ratio(1, 3); got != 0.33 {
		t.Errorf("ratio = %v", got)
	}
	if got := ratio(1, 0); got != 0 {
		t.Errorf("ratio over zero = %v", got)
	}
}

func TestParseMaxRSS(t *testing.T) {
	kib, err := parseMaxRSS([]byte("plugin noise\n\nmaxrss-kib=4980\n"))
	if err != nil || kib != 4980 {
		t.Fatalf("parseMaxRSS = %d, %v", kib, err)
	}
	if _, err := parseMaxRSS([]byte("no line")); err == nil {
		t.Fatal("parseMaxRSS accepted stderr without the line")
	}
}

func TestFloorAddresses(t *testing.T) {
	_, subnet, _ := net.ParseCIDR("10.99.1.0/24")
	c := &contender{spec: spec{subnet: subnet}}
	if c.gateway().String() != "10.99.1.1" || c.podAddress(0).String() != "10.99.1.2" || c.podAddress(199).String() != "10.99.1.201" {
		t.Fatalf("gateway %s, pod 0 %s, pod 199 %s", c.gateway(), c.podAddress(0), c.podAddress(199))
	}
	if c.gateway6().String() != "fd00:10:98:1::1" || c.podAddress6(0).String() != "fd00:10:98:1::2" || c.podAddress6(299).String() != "fd00:10:98:1::12d" {
		t.Fatalf("IPv6 gateway %s, pod 0 %s, pod 299 %s", c.gateway6(), c.podAddress6(0), c.podAddress6(299))
	}
}

// TestFloorEnvironment: a floor gets its addresses in FLOOR_* variables, the
// IPv6 ones only when its families include ipv6.
func TestFloorEnvironment(t *testing.T) {
	_, subnet, _ := net.ParseCIDR("10.99.1.0/24")
	for _, tc := range []struct {
		families []string
		want6    bool
	}{{[]string{"ipv4"}, false}, {[]string{"ipv4", "ipv6"}, true}} {
		c := &contender{spec: spec{subnet: subnet, mtu: 1500, families: tc.families}, pods: []ns.NetNS{fakeNetNS{path: "/run/netns/p0"}}}
		env := strings.Join(c.invocation("ADD", 0, "id").Env, "\n")
		for _, kv := range []string{"FLOOR_ADDRESS=10.99.1.2/24", "FLOOR_GATEWAY=10.99.1.1", "FLOOR_BRIDGE=cni0", "FLOOR_MTU=1500"} {
			if !strings.Contains(env, kv) {
				t.Errorf("%v: no %s in %q", tc.families, kv, env)
			}
		}
		has6 := strings.Contains(env, "FLOOR_ADDRESS6=fd00:10:98:1::2/64") && strings.Contains(env, "FLOOR_GATEWAY6=fd00:10:98:1::1")
		if has6 != tc.want6 {
			t.Errorf("%v: IPv6 variables present %v, want %v: %q", tc.families, has6, tc.want6, env)
		}
	}
}

// fakeNetNS is a netns by path only (invocation reads nothing else; any
// other method would panic on the nil interface).
type fakeNetNS struct {
	ns.NetNS
	path string
}

func (f fakeNetNS) Path() string { return f.path }

func TestTableValidateNamesTheFault(t *testing.T) {
	good := func() Table {
		return Table{Baseline: "b", Contenders: []Contender{
			{Name: "a", Plugin: "/bin/a", NetConf: "a.tmpl", Targets: []Target{{Metric: "add_p50", Against: "b", Limit: 1}}},
			{Name: "b", Plugin: "/bin/b", NetConf: "b.tmpl"},
			{Name: "f", Plugin: "/bin/f", Floor: true},
		}}
	}
	if err := good().Validate(); err != nil {
		t.Fatalf("good table refused: %v", err)
	}
	for _, tc := range []struct {
		name, want string
		mutate     func(*Table)
	}{
		{"no contenders", "no contenders", func(t *Table) { t.Contenders = nil }},
		{"bad name", `invalid "name"`, func(t *Table) { t.Contenders[0].Name = "a b" }},
		{"duplicate name", `used twice`, func(t *Table) { t.Contenders[1].Name = "a" }},
		{"no plugin", `"plugin" missing`, func(t *Table) { t.Contenders[1].Plugin = "" }},
		{"no netconf", `"netconf" missing`, func(t *Table) { t.Contenders[1].NetConf = "" }},
		{"floor with netconf", `a floor takes no`, func(t *Table) { t.Contenders[2].NetConf = "x" }},
		{"no baseline", `"baseline" missing`, func(t *Table) { t.Baseline = "" }},
		{"unknown baseline", `"baseline" "z" is not a contender`, func(t *Table) { t.Baseline = "z" }},
		{"bad metric", `"metric" "p42"`, func(t *Table) { t.Contenders[0].Targets[0].Metric = "p42" }},
		{"target against itself", `"against" "a"`, func(t *Table) { t.Contenders[0].Targets[0].Against = "a" }},
		{"zero limit", `"limit" 0`, func(t *Table) { t.Contenders[0].Targets[0].Limit = 0 }},
		{"subnet not a CIDR", `"subnet" "10.100.0.0"`, func(t *Table) { t.Contenders[0].Network, t.Contenders[0].Subnet = "10.96.0.0/12", "10.100.0.0" }},
		{"IPv6 subnet", `"subnet" "fd00::/64" is not an IPv4 CIDR`, func(t *Table) { t.Contenders[0].Network, t.Contenders[0].Subnet = "10.96.0.0/12", "fd00::/64" }},
		{"subnet without network", `"network" and "subnet" go together`, func(t *Table) { t.Contenders[0].Subnet = "10.100.0.0/16" }},
		{"unknown family", `"families" holds "ipv5"`, func(t *Table) { t.Contenders[0].Families = []string{"ipv4", "ipv5"} }},
		{"family twice", `"families" lists "ipv6" twice`, func(t *Table) { t.Contenders[0].Families = []string{"ipv6", "ipv6"} }},
		{"IPv6-only floor", `a floor's "families" must include "ipv4"`, func(t *Table) { t.Contenders[2].Families = []string{"ipv6"} }},
		{"floor with preload", `a floor takes no "preload"`, func(t *Table) {
			t.Contenders[2].Preload = &Preload{Reservations: 1, Format: podnetStore}
		}},
		{"unknown state", `"state" "disk" is not one of [tmpfs host]`, func(t *Table) { t.Contenders[0].State = "disk" }},
		{"unknown preload format", `preload "format" "host-local"`, func(t *Table) { t.Contenders[0].Preload = &Preload{Reservations: 1, Format: "host-local"} }},
		{"empty preload", `preload "reservations" 0`, func(t *Table) { t.Contenders[0].Preload = &Preload{Format: podnetStore} }},
		{"preload with IPv6", `preload writes IPv4 reservations only`, func(t *Table) {
			t.Contenders[0].Families = []string{"ipv4", "ipv6"}
			t.Contenders[0].Preload = &Preload{Reservations: 1, Format: podnetStore}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb := good()
			tc.mutate(&tb)
			err := tb.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestMakeBenchTableIsValid(t *testing.T) {
	tb, err := LoadTable("contenders.json")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range tb.Contenders {
		names = append(names, c.Name)
	}
	if strings.Join(names, ",") != "podnet,bridge,floor,podnet-dual,floor-dual,podnet-16,podnet-20k,podnet-disk" || tb.Baseline != "bridge" {
		t.Fatalf("make bench's table: contenders %v, baseline %q", names, tb.Baseline)
	}
	// Every contender's state on the run's tmpfs (the default) but
	// podnet-disk's, which shows what the disk costs.
	for _, c := range tb.Contenders {
		if want := map[bool]string{true: StateHost}[c.Name == "podnet-disk"]; c.State != want {
			t.Errorf("%s: state %q, want %q", c.Name, c.State, want)
		}
	}
}

func TestFinishComputesEveryPairAndTheTargets(t *testing.T) {
	mk := func(name string, addMs int, targets ...Target) *contender {
		c := &contender{spec: spec{name: name, targets: targets}}
		for range 3 {
			c.addTiming.durations = append(c.addTiming.durations, time.Duration(addMs)*time.Millisecond)
			c.delTiming.durations = append(c.delTiming.durations, time.Duration(addMs)*time.Millisecond)
		}
		c.res.Burst.Rounds = []results.BenchBurstRound{{AddWallMs: float64(addMs), DelWallMs: float64(addMs)}}
		return c
	}
	rep := &results.Bench{Baseline: "b"}
	finish(rep, []*contender{
		mk("a", 10, Target{Metric: "add_p50", Against: "b", Limit: 1}, Target{Metric: "burst", Against: "f", Limit: 1.5, Clean: true},
			Target{Metric: "del_p50", Against: "f", Limit: 1.2}),
		mk("b", 40),
		mk("f", 8),
	})
	if got := rep.Ratios["a/b"]["add_p50"]; got != 0.25 {
		t.Errorf("a/b add_p50 = %v, want 0.25", got)
	}
	if got := rep.Ratios["b/f"]["del_p50"]; got != 5 {
		t.Errorf("b/f del_p50 = %v, want 5", got)
	}
	if len(rep.Ratios) != 6 {
		t.Errorf("%d ratio pairs, want 6", len(rep.Ratios))
	}
	if len(rep.Targets) != 3 || !rep.Targets[0].Met || !rep.Targets[1].Met || rep.Targets[1].Ratio != 1.25 || rep.Targets[2].Met {
		t.Errorf("targets = %+v", rep.Targets)
	}
	if len(rep.Contenders["a"].Add.SamplesMs) != 3 || strings.Join(rep.Order, ",") != "a,b,f" {
		t.Errorf("samples %v, order %v", rep.Contenders["a"].Add.SamplesMs, rep.Order)
	}
	rep.Contenders["a"].Burst.Failures = 1
	if rep.Passed() {
		t.Error("Passed() with a burst failure")
	}
}

// TestWilliamsOrders checks the design's two balances for the table sizes
// a bench can have: every position and every immediate predecessor equally
// often per contender.
func TestWilliamsOrders(t *testing.T) {
	for n := 1; n <= 9; n++ {
		rows := williamsOrders(n)
		pos := make([][]int, n)
		follows := make([][]int, n)
		for k := range n {
			pos[k], follows[k] = make([]int, n), make([]int, n)
		}
		for _, row := range rows {
			if got := slices.Sorted(slices.Values(row)); !slices.Equal(got, seq(n)) {
				t.Fatalf("n=%d: row %v is not a permutation", n, row)
			}
			for k, c := range row {
				pos[c][k]++
				if k > 0 {
					follows[c][row[k-1]]++
				}
			}
		}
		for c := range n {
			for k := range n {
				if pos[c][k] != pos[0][0] {
					t.Errorf("n=%d: contender %d at position %d %d times, contender 0 first %d times", n, c, k, pos[c][k], pos[0][0])
				}
				if k != c && n > 1 && follows[c][k] != follows[1][0] {
					t.Errorf("n=%d: contender %d after %d %d times, 1 after 0 %d times", n, c, k, follows[c][k], follows[1][0])
				}
			}
		}
	}
}

func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// TestSettleAfterPrevious: a run waits out what is left of the settle time
// after the previous cleanup, and not at all without a marker, with an old
// one or with settle 0; a cancelled context ends the wait.
func TestSettleAfterPrevious(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "cleaned")
	now := time.Now()
	var logged []string
	log := func(format string, a ...any) { logged = append(logged, fmt.Sprintf(format, a...)) }
	if err := settleAfterPrevious(context.Background(), marker, time.Minute, now, log); err != nil || len(logged) != 0 {
		t.Fatalf("no marker: err %v, logged %q", err, logged)
	}
	if err := os.WriteFile(marker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cleaned := now.Add(-30 * time.Second)
	if err := os.Chtimes(marker, cleaned, cleaned); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		settle   time.Duration
		now      time.Time
		wantWait bool
	}{
		{settle: 0, now: now},
		{settle: 20 * time.Second, now: now}, // settled already
		{settle: 30*time.Second + 50*time.Millisecond, now: now, wantWait: true},  // 50 ms left
		{settle: 50 * time.Millisecond, now: now.Add(-time.Hour), wantWait: true}, // a marker from the future: settle at most
	} {
		logged = nil
		start := time.Now()
		if err := settleAfterPrevious(context.Background(), marker, tc.settle, tc.now, log); err != nil {
			t.Fatal(err)
		}
		if waited := len(logged) > 0; waited != tc.wantWait {
			t.Errorf("settle %s: waited %v (%q), want %v", tc.settle, waited, logged, tc.wantWait)
		}
		if tc.wantWait && time.Since(start) < 40*time.Millisecond {
			t.Errorf("settle %s: returned after %s, before the settle time was over", tc.settle, time.Since(start))
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := settleAfterPrevious(ctx, marker, time.Hour, now, log); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err %v, want context.Canceled", err)
	}
}
