package clusterbench

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/cnigate/cnigate/results"
)

func TestPercentile(t *testing.T) {
	hundred := make([]float64, 100)
	for i := range hundred {
		hundred[i] = float64(i + 1)
	}
	for _, tc := range []struct {
		name   string
		sorted []float64
		q      float64
		want   float64
	}{
		{"empty", nil, 0.5, 0},
		{"one", []float64{7}, 0.99, 7},
		{"p50 of 1..100", hundred, 0.50, 50},
		{"p90 of 1..100", hundred, 0.90, 90},
		{"p99 of 1..100", hundred, 0.99, 99},
		{"p100 of 1..100", hundred, 1, 100},
		{"p99 of 4 is the max", []float64{1, 2, 3, 40}, 0.99, 40},
		{"p50 of 4 is the 2nd", []float64{1, 2, 3, 40}, 0.50, 2},
	} {
		if got := Percentile(tc.sorted, tc.q); got != tc.want {
			t.Errorf("%s: Percentile(q=%v) = %v, want %v", tc.name, tc.q, got, tc.want)
		}
	}
}

func TestSummarizeSortsACopy(t *testing.T) {
	in := []float64{30, 10, 20}
	s := Summarize(in)
	if s.N != 3 || s.P50 != 20 || s.P99 != 30 || s.Max != 30 {
		t.Errorf("Summarize = %+v", s)
	}
	if in[0] != 30 {
		t.Errorf("Summarize reordered its input: %v", in)
	}
}

func pod(node string, conds ...corev1.PodCondition) *corev1.Pod {
	return &corev1.Pod{Spec: corev1.PodSpec{NodeName: node}, Status: corev1.PodStatus{Conditions: conds}}
}

func cond(t corev1.PodConditionType, s corev1.ConditionStatus) corev1.PodCondition {
	return corev1.PodCondition{Type: t, Status: s}
}

func TestObserve(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	const yes, no = corev1.ConditionTrue, corev1.ConditionFalse
	for _, tc := range []struct {
		name                      string
		events                    []*corev1.Pod
		scheduled, sandbox, ready int // ms after t0; -1: not seen
	}{
		{"pending, unscheduled", []*corev1.Pod{pod("")}, -1, -1, -1},
		{"scheduled False is not scheduled", []*corev1.Pod{pod("", cond(corev1.PodScheduled, no))}, -1, -1, -1},
		{"the three in order", []*corev1.Pod{
			pod("w1", cond(corev1.PodScheduled, yes)),
			pod("w1", cond(corev1.PodScheduled, yes), cond(corev1.PodReadyToStartContainers, yes)),
			pod("w1", cond(corev1.PodScheduled, yes), cond(corev1.PodReadyToStartContainers, yes), cond(corev1.PodReady, yes)),
		}, 0, 1, 2},
		{"first True wins over later events", []*corev1.Pod{
			pod("w1", cond(corev1.PodScheduled, yes), cond(corev1.PodReadyToStartContainers, no)),
			pod("w1", cond(corev1.PodScheduled, yes), cond(corev1.PodReadyToStartContainers, yes)),
			pod("w1", cond(corev1.PodScheduled, yes), cond(corev1.PodReadyToStartContainers, yes)),
		}, 0, 1, -1},
		{"missed events: Ready seen with the rest at once", []*corev1.Pod{
			pod("w1", cond(corev1.PodScheduled, yes), cond(corev1.PodReadyToStartContainers, yes), cond(corev1.PodReady, yes)),
		}, 0, 0, 0},
	} {
		var pt PodTimes
		for i, p := range tc.events {
			pt.Observe(p, at(i))
		}
		for _, c := range []struct {
			what string
			got  time.Time
			want int
		}{{"scheduled", pt.Scheduled, tc.scheduled}, {"sandbox", pt.Sandbox, tc.sandbox}, {"ready", pt.Ready, tc.ready}} {
			switch {
			case c.want < 0 && !c.got.IsZero():
				t.Errorf("%s: %s seen at %v, want not seen", tc.name, c.what, c.got.Sub(t0))
			case c.want >= 0 && !c.got.Equal(at(c.want)):
				t.Errorf("%s: %s at %v, want %dms", tc.name, c.what, c.got.Sub(t0), c.want)
			}
		}
		if want := tc.scheduled >= 0 && tc.sandbox >= 0 && tc.ready >= 0; pt.Complete() != want {
			t.Errorf("%s: Complete() = %v, want %v", tc.name, pt.Complete(), want)
		}
	}
}

func TestLatenciesSkipIncompletePods(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	pods := map[string]*PodTimes{
		"a": {Scheduled: t0, Sandbox: t0.Add(300 * time.Millisecond), Ready: t0.Add(time.Second)},
		"b": {Scheduled: t0, Sandbox: t0.Add(time.Second)}, // never Ready
	}
	sandbox, ready := Latencies(pods)
	if len(sandbox) != 1 || sandbox[0] != 300 || len(ready) != 1 || ready[0] != 1000 {
		t.Errorf("Latencies = %v, %v; want [300], [1000]", sandbox, ready)
	}
}

func TestPoolTarget(t *testing.T) {
	for _, tc := range []struct {
		name        string
		podnet, ref []float64
		wantMet     bool
	}{
		{"podnet faster", []float64{100, 200}, []float64{150, 300}, true},
		{"equal p99 meets it", []float64{100, 300}, []float64{200, 300}, true},
		{"podnet slower", []float64{100, 400}, []float64{100, 300}, false},
		{"no reference samples", []float64{100}, nil, false},
	} {
		rounds := []Round{{ClusterBenchRound: results.ClusterBenchRound{CNI: "podnet"}, sandboxMs: tc.podnet}, {ClusterBenchRound: results.ClusterBenchRound{CNI: "bridge"}, sandboxMs: tc.ref}}
		cnis, target := Pool(rounds)
		if target.Met != tc.wantMet {
			t.Errorf("%s: target met = %v, want %v (%+v)", tc.name, target.Met, tc.wantMet, target)
		}
		if cnis[0].CNI != "podnet" || cnis[0].Sandbox.N != len(tc.podnet) {
			t.Errorf("%s: pooled %+v", tc.name, cnis)
		}
	}
}
