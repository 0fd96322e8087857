package results

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRolloutRoundTrip(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	r := &Rollout{Started: now, DaemonSet: "podnet", Candidate: "c:2", Passed: true,
		Phases: []RolloutPhase{
			{Name: PhaseUpgrade, Nodes: []RolloutNode{{Node: "a", Canary: true, Started: now}, {Node: "b"}}},
			{Name: PhaseDowngrade, Nodes: []RolloutNode{{Node: "a"}}},
		}}
	path := filepath.Join(dir, "rollout.json")
	if err := WriteFile(path, r); err != nil {
		t.Fatal(err)
	}
	var got Rollout
	if err := ReadFile(path, &got); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range got.Nodes() {
		names = append(names, n.Node)
	}
	if strings.Join(names, ",") != "a,b,a" || !got.Phases[0].Nodes[0].Started.Equal(now) || got.Schema != "rollout/v1" {
		t.Errorf("round trip: schema %q, nodes %v, %+v", got.Schema, names, got.Phases[0].Nodes[0])
	}
	b, _ := os.ReadFile(path)
	if strings.Contains(string(b), `"pod_ready"`) {
		t.Errorf("zero times are written: %s", b)
	}
}

func TestRolloutRefused(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ name, body, want string }{
		{"older", `{"schema":"rollout/v0"}`, "this cnigate reads rollout/v1 only"},
		{"no schema", `{"started":"2026-12-06T12:00:00Z","passed":true}`, `no "schema" field`},
		{"another kind", `{"schema":"e2e-matrix/v1"}`, "a e2e-matrix file"},
		{"empty", `{"schema":"rollout/v1"}`, `no "started"`},
		{"failed without a reason", `{"schema":"rollout/v1","started":"2026-12-06T12:00:00Z"}`, `no "failure" says why`},
		{"passed with nothing", `{"schema":"rollout/v1","started":"2026-12-06T12:00:00Z","passed":true}`, "nothing was checked"},
		{"unknown field", `{"schema":"rollout/v1","started":"2026-12-06T12:00:00Z","passed":true,"speed":1}`, "unknown field"},
		{"refused run", `{"schema":"rollout/v1","started":"2026-12-06T12:00:00Z","failure":"refused: nodes not Ready: w2"}`, ""},
	} {
		p := filepath.Join(dir, c.name)
		if err := os.WriteFile(p, []byte(c.body), 0o644); err != nil {
			t.Fatal(err)
		}
		var r Rollout
		err := ReadFile(p, &r)
		if c.want == "" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", c.name, err, c.want)
		}
	}
}
