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
	r := &Rollout{Schema: RolloutSchema, Started: now, DaemonSet: "podnet", Candidate: "c:2",
		Phases: []RolloutPhase{
			{Name: PhaseUpgrade, Nodes: []RolloutNode{{Node: "a", Canary: true, Started: now}, {Node: "b"}}},
			{Name: PhaseDowngrade, Nodes: []RolloutNode{{Node: "a"}}},
		}}
	path := filepath.Join(dir, "rollout.json")
	if err := r.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	got, err := ReadRollout(path)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range got.Nodes() {
		names = append(names, n.Node)
	}
	if strings.Join(names, ",") != "a,b,a" || !got.Phases[0].Nodes[0].Started.Equal(now) {
		t.Errorf("round trip: nodes %v, %+v", names, got.Phases[0].Nodes[0])
	}
	b, _ := os.ReadFile(path)
	if strings.Contains(string(b), `"pod_ready"`) {
		t.Errorf("zero times are written: %s", b)
	}
}

func TestReadRolloutRefusesOtherSchemas(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ name, body, want string }{
		{"other", `{"schema":"rollout/v0"}`, `schema "rollout/v0"`},
		{"none", `{}`, `schema ""`},
		{"garbage", `{`, "unexpected end"},
	} {
		p := filepath.Join(dir, c.name)
		if err := os.WriteFile(p, []byte(c.body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadRollout(p); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", c.name, err, c.want)
		}
	}
}
