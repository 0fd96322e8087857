package rollout

import (
	"strings"
	"testing"

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
	if strings.Join(ips, "|") != "ns/a on w1: 10.0.0.1 -> 10.0.0.7" {
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
