package rollout

import (
	"slices"
	"testing"

	"github.com/cnigate/cnigate/internal/testfilter"
)

// --test on the rollout gate: the probe's targets a selection keeps.
func TestReachArgsSelection(t *testing.T) {
	for _, tc := range []struct {
		name string
		test []string
		want []string
	}{
		{"everything", nil, []string{"-tcp", "pod on w2=10.0.2.5:8080", "-udp", "pod on w2=10.0.2.5:8081", "-tcp", "external=1.2.3.4:80"}},
		{"no UDP", []string{"!udp$"}, []string{"-tcp", "pod on w2=10.0.2.5:8080", "-tcp", "external=1.2.3.4:80"}},
		{"external only", []string{"external"}, []string{"-tcp", "external=1.2.3.4:80"}},
		{"a node's checks", []string{"^w1 → pod on w2", "!tcp$"}, []string{"-udp", "pod on w2=10.0.2.5:8081"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := testfilter.Parse(tc.test...)
			if err != nil {
				t.Fatal(err)
			}
			g := &gate{cfg: Config{Tests: f}}
			r := reachArgs{from: "w1", sel: g.selected}
			r.add("tcp", "pod on w2", "10.0.2.5:8080")
			r.add("udp", "pod on w2", "10.0.2.5:8081")
			r.add("tcp", "external", "1.2.3.4:80")
			if !slices.Equal(r.args, tc.want) {
				t.Errorf("args %q, want %q", r.args, tc.want)
			}
		})
	}
}
