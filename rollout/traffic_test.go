package rollout

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cnigate/cnigate/rollout/flow"

	"k8s.io/apimachinery/pkg/types"
)

func TestCompare(t *testing.T) {
	before := map[types.UID]podSnap{
		"a": {name: "ns/a", node: "w1", ips: "10.0.0.1", restarts: 0},
		"b": {name: "ns/b", node: "w2", ips: "10.0.1.1", restarts: 2},
		"c": {name: "ns/c", node: "w2", ips: "10.0.1.2"},
	}
	now := map[types.UID]podSnap{
		"a": {name: "ns/a", node: "w1", ips: "10.0.0.7", restarts: 1},
		"b": {name: "ns/b", node: "w2", ips: "10.0.1.1", restarts: 3},
		// c is gone (deleted): neither an IP change nor a restart
		"d": {name: "ns/d", node: "w1", ips: "10.0.0.2", restarts: 5}, // new: not compared
	}
	ips, restarts, restarted := compare(before, now)
	if strings.Join(ips, "|") != "ns/a on w1: 10.0.0.1 → 10.0.0.7" {
		t.Errorf("ip changes %q", ips)
	}
	if restarts != 2 || strings.Join(restarted, "|") != "ns/a on w1: 1|ns/b on w2: 1" {
		t.Errorf("restarts %d %q, want 2", restarts, restarted)
	}
}

func TestTrafficNext(t *testing.T) {
	tr := &traffic{nodes: []string{"w1", "w2", "w3"}}
	for in, want := range map[string]string{"w1": "w2", "w2": "w3", "w3": "w1"} {
		if got := tr.next(in); got != want {
			t.Errorf("next(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestMerge(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	ev := func(secs ...int) []flow.Event {
		var out []flow.Event
		for _, s := range secs {
			out = append(out, flow.Event{T: t0.Add(time.Duration(s) * time.Second), Ev: flow.EvBatch})
		}
		return out
	}
	secs := func(events []flow.Event) []int {
		var out []int
		for _, e := range events {
			out = append(out, int(e.T.Sub(t0).Seconds()))
		}
		return out
	}
	for _, c := range []struct {
		name      string
		old, read []flow.Event
		want      []int
	}{
		{"first read", nil, ev(1, 2), []int{1, 2}},
		{"the whole log again", ev(1, 2), ev(1, 2, 3), []int{1, 2, 3}},
		{"rotated: only the newer file", ev(1, 2, 3), ev(3, 4), []int{1, 2, 3, 4}},
		{"nothing read", ev(1, 2), nil, []int{1, 2}},
	} {
		if got := secs(merge(c.old, c.read)); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
