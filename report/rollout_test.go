package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cnigate/cnigate/results"
)

func sampleRollout() *results.Rollout {
	t0 := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	return &results.Rollout{Schema: "rollout/v1", Started: t0, Finished: at(120), Namespace: "kube-system", DaemonSet: "podnet",
		Container: "agent", OldImage: "podnet:1", Candidate: "podnet:bad", Order: []string{"w1", "w2", "cp"}, Canary: "w1",
		Baseline: []results.RolloutCheck{{Name: "w1 -> pod on w2 tcp", Passed: true}},
		Phases: []results.RolloutPhase{{Name: results.PhaseUpgrade, From: "podnet:1", To: "podnet:bad", Nodes: []results.RolloutNode{{
			Node: "w1", Canary: true, Image: "podnet:bad", Started: at(30), PodReady: at(33), Finished: at(60), RolledBack: true,
			Checks:   []results.RolloutCheck{{Name: "w1 -> pod on w2 tcp", Passed: false, Detail: "no answer <in time>"}},
			Summary:  results.RolloutSummary{Resets: 0, MaxGapMs: 30000},
			Failures: []string{`check "w1 -> pod on w2 tcp" failed: no answer`, "stream gap 30000 ms (limit 1500 ms)"},
		}}}},
		Traffic: []results.RolloutFlow{{Client: "w1", Target: "other:w2", Kind: "tcp", OK: 900, Fail: 3, MaxGapMs: 30000,
			Gaps: []results.RolloutGap{{From: at(33), To: at(63), Ms: 30000}}}},
		Strategy: results.RolloutStrategy{Original: `{"type":"RollingUpdate"}`, Restored: true},
		Failure:  "w1: check failed", FailedNode: "w1", Untouched: []string{"w2", "cp"}}
}

func TestWriteRollout(t *testing.T) {
	dir := t.TempDir()
	paths, err := WriteRollout(dir, sampleRollout())
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 4 {
		t.Fatalf("paths %v", paths)
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for _, c := range []struct{ file, want string }{
		{"rollout.md", "| w1 (canary) | 3.0 | 30.0 | 0/1 | 0 | 0 | 30000 |"},
		{"rollout.md", "never switched (still on podnet:1): w2, cp"},
		{"rollout.md", "**❌ FAILED**: w1: check failed"},
		{"rollout.html", `<svg id="timeline"`},
		{"rollout.html", `class="gap"`},
		{"rollout.html", "no answer &lt;in time&gt;"}, // escaped
		{"rollout.html", "FAIL, rolled back"},
		{"rollout.junit.xml", `failures="2"`},
		{"rollout.report.json", `"ok": false`},
	} {
		if got := read(c.file); !strings.Contains(got, c.want) {
			t.Errorf("%s lacks %q:\n%s", c.file, c.want, got)
		}
	}
}

func TestFromRolloutRefused(t *testing.T) {
	// A preflight refusal has no node: it still fails as a case.
	r := &results.Rollout{Schema: "rollout/v1", Failure: "refused: nodes not Ready: w2"}
	rep := FromRollout(r)
	if rep.OK() || len(rep.Cases) != 1 || !strings.Contains(rep.Cases[0].Detail, "nodes not Ready") {
		t.Errorf("refused run: %+v", rep.Cases)
	}
}
