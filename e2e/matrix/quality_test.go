package matrix

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"github.com/cnigate/cnigate/results"
)

func TestBurstVerdict(t *testing.T) {
	for _, tc := range []struct {
		name    string
		line    map[string]string
		maxLoss float64
		detail  string // substring of the detail
		err     string // substring of the error, "" when it passes
	}{
		{"no loss", map[string]string{"sent": "50", "received": "50", "loss_pct": "0.00", "p50_us": "210", "p99_us": "1300"}, 1,
			"loss 0.0% (50/50 echoes), RTT p50 0.21 ms p99 1.30 ms", ""},
		{"one of fifty lost is 2%: above 1%", map[string]string{"sent": "50", "received": "49", "loss_pct": "2.00", "p50_us": "200", "p99_us": "900"}, 1,
			"loss 2.0% (49/50 echoes)", "loss above 1.0%"},
		{"2% under a 5% threshold", map[string]string{"sent": "50", "received": "49", "loss_pct": "2.00", "p50_us": "200", "p99_us": "900"}, 5,
			"loss 2.0%", ""},
		{"exactly at the threshold passes", map[string]string{"sent": "100", "received": "99", "loss_pct": "1.00", "p50_us": "200", "p99_us": "900"}, 1,
			"loss 1.0%", ""},
		{"a field missing", map[string]string{"sent": "50", "received": "50", "loss_pct": "0.00"}, 1, "", "field p50_us"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var q results.Quality
			lat, detail, err := burstVerdict(tc.line, tc.maxLoss, &q)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
			} else if err != nil {
				t.Fatalf("error %v, want a pass", err)
			}
			if !strings.Contains(detail, tc.detail) {
				t.Errorf("detail %q, want %q", detail, tc.detail)
			}
			if tc.detail != "" && (q.LossPct == nil || q.Sent == 0 || q.RTTP50MS == nil || lat != time.Duration(*q.RTTP50MS*1000)*time.Microsecond) {
				t.Errorf("quality %+v, latency %v: want the line's figures", q, lat)
			}
		})
	}
}

func TestThroughputRatio(t *testing.T) {
	for _, tc := range []struct {
		pod, host, want float64
		err             bool
	}{{900, 1000, 0.9, false}, {2000, 1000, 2, false}, {0, 1000, 0, false}, {100, 0, 0, true}, {-1, 10, 0, true}} {
		got, err := throughputRatio(tc.pod, tc.host)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("throughputRatio(%v, %v) = %v, %v; want %v (error %v)", tc.pod, tc.host, got, err, tc.want, tc.err)
		}
	}
}

func TestQualityOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(q *QualityOptions)
		want string
	}{
		{"defaults", func(*QualityOptions) {}, ""},
		{"report-only throughput", func(q *QualityOptions) { q.MinThroughputRatio = 0 }, ""},
		{"negative loss", func(q *QualityOptions) { q.MaxLossPct = -1 }, "max-loss-pct -1"},
		{"loss 100%", func(q *QualityOptions) { q.MaxLossPct = 100 }, "max-loss-pct 100"},
		{"a burst too short to see 1%", func(q *QualityOptions) { q.BurstCount = 5 }, "burst-count 5"},
		{"no interval", func(q *QualityOptions) { q.BurstInterval = 0 }, "burst-interval 0s"},
		{"negative ratio", func(q *QualityOptions) { q.MinThroughputRatio = -0.1 }, "min-throughput-ratio -0.1"},
		{"ratio by mode", func(q *QualityOptions) { q.MinThroughputRatio = -1 }, ""},
		{"an explicit ratio", func(q *QualityOptions) { q.MinThroughputRatio = 0.9 }, ""},
		{"a minute of throughput", func(q *QualityOptions) { q.ThroughputDuration = time.Minute }, "throughput-duration 1m0s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := Options{CNI: "podnet", AgentImage: "a", NodeImage: "n", Workers: 2, CellTimeout: 1, AgentKills: 1, Quality: defaultQuality()}
			tc.edit(&o.Quality)
			err := o.Validate()
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("Validate() = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestMinRatio(t *testing.T) {
	for _, tc := range []struct {
		opt  float64
		gate bool
		want float64
	}{{autoRatio, true, 0.9}, {autoRatio, false, 0.5}, {0.7, true, 0.7}, {0.7, false, 0.7}, {0, false, 0}} {
		if got := (QualityOptions{MinThroughputRatio: tc.opt}).minRatio(tc.gate); got != tc.want {
			t.Errorf("minRatio(option %v, gate %v) = %v, want %v", tc.opt, tc.gate, got, tc.want)
		}
	}
}

func TestQualityRowsRunBeforeHealthAndHealing(t *testing.T) {
	var groupsSeen []string
	for _, r := range rows() {
		if n := len(groupsSeen); n == 0 || groupsSeen[n-1] != r.group {
			groupsSeen = append(groupsSeen, r.group)
		}
	}
	if got := strings.Join(groupsSeen, ","); got != "Connectivity,Contract,IPAM,Quality,Health,Healing" {
		t.Errorf("groups in table order: %s", got)
	}
	// on two workers: 2 same-node and 2 other-node pairs per burst row, and
	// each cell measures (quality set) and names its protocol
	s := fakeSuite("podnet", true, true)
	counts := map[string]int{}
	for _, r := range qualityRows() {
		for _, c := range r.rowCells(s, "ipv4", nil) {
			counts[c.proto]++
			if c.quality == nil || c.skip != "" {
				t.Errorf("%s %s: quality %v, skip %q", r.name, c.name(), c.quality, c.skip)
			}
		}
	}
	if counts["udp-burst"] != 12 || counts["tcp-throughput"] != 4 {
		t.Errorf("quality cells by protocol: %v, want 12 udp-burst and 4 tcp-throughput", counts)
	}
}

func TestMeasured(t *testing.T) {
	if measured(nil) != nil || measured(&results.Quality{}) != nil {
		t.Error("nothing measured must record no quality")
	}
	q := &results.Quality{Sent: 50, Received: 50}
	got := measured(q)
	q.Received = 1 // a later attempt must not change what was recorded
	if got == nil || got.Received != 50 {
		t.Errorf("measured = %+v", got)
	}
}

func readinessPod(name string, created int64, msg string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{}}}
	if created != 0 {
		p.Annotations[createdAnnotation] = strconv.FormatInt(created, 10)
	}
	if msg != "" {
		p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: readinessInit,
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Message: msg}}}}
	}
	return p
}

func TestReadinessOf(t *testing.T) {
	const t0 = int64(1_800_000_000_000_000_000)
	at := func(d time.Duration) string {
		return "answered_unix_ns=" + strconv.FormatInt(t0+int64(d), 10) + " attempts=3"
	}
	r := readinessOf([]*corev1.Pod{
		readinessPod("a", t0, at(1*time.Second)),
		readinessPod("b", t0, at(2*time.Second)),
		readinessPod("c", t0, at(3*time.Second)),
		readinessPod("no-answer", t0, `no_answer after=30s attempts=900 last_error="timeout"`),
		readinessPod("no-stamp", 0, at(time.Second)),
		readinessPod("no-init", t0, ""),
		readinessPod("clock-behind", t0, at(-time.Second)),
	})
	if r.Pods != 7 || r.P50S != 2 || r.P99S != 3 || r.MaxS != 3 || len(r.Missing) != 4 {
		t.Errorf("readiness %+v: want 7 pods, p50 2 s, p99 3 s, 4 missing", r)
	}
	for i, want := range []string{"no-answer: no_answer after=30s", "no-stamp: no creation stamp", "no-init: no first-answer init container", "clock-behind: answered 1s before its creation"} {
		if i >= len(r.Missing) || !strings.HasPrefix(r.Missing[i], want) {
			t.Errorf("missing[%d] = %v, want %q", i, r.Missing, want)
		}
	}
}

func TestWithReadinessPeersAreOtherNodes(t *testing.T) {
	s := fakeSuite("podnet", true, true)
	s.families = []string{"ipv4"}
	for _, p := range withReadiness(s, matrixPods(s)) {
		node := p.Spec.NodeSelector[corev1.LabelHostname]
		if len(p.Spec.InitContainers) != 1 {
			t.Fatalf("pod %s: init containers %v", p.Name, p.Spec.InitContainers)
		}
		script := p.Spec.InitContainers[0].Command[2]
		if !strings.HasPrefix(script, "probe first-answer ") {
			t.Fatalf("pod %s: init script %q", p.Name, script)
		}
		peer := strings.Fields(script)[2]
		for _, n := range s.nodes {
			if n.Name == node && strings.HasPrefix(peer, n.InternalIP+":") {
				t.Errorf("pod %s on %s reaches its own node %s", p.Name, node, peer)
			}
		}
	}
}

// writeReport carries the quality figures and the readiness into matrix.json
// (strictly decoded) and the Markdown report.
func TestWriteReportCarriesQuality(t *testing.T) {
	dir := t.TempDir()
	s := &suite{opt: Options{ReportDir: dir, ReportName: "e2e-podnet", CNI: "podnet", Workers: 2, MTU: 1500},
		bookkeeping: bookkeeping{readiness: &results.Readiness{Peer: "another node's kubelet (TCP 10250)", Pods: 4, P50S: 1.5, P99S: 2.25, MaxS: 2.25}}}
	q := &results.Quality{Sent: 50, Received: 47, LossPct: results.Float(6), RTTP50MS: results.Float(0.2), RTTP99MS: results.Float(1.1)}
	s.matrix.Add(results.Cell{Behaviour: "loss & RTT: pod -> pod, other node", Name: "udp-burst:shell-w1->web-w2", From: "shell-w1", To: "web-w2",
		Protocol: "udp-burst", Result: results.Fail, Attempts: 1, Detail: "loss 6.0% (47/50 echoes)", Quality: q})
	s.matrix.Add(results.Cell{Behaviour: "throughput: pod -> pod vs host -> host, other node", Name: "tcp-throughput:shell-w1->web-w2", From: "shell-w1", To: "web-w2",
		Protocol: "tcp-throughput", Result: results.Pass, Attempts: 1, Quality: &results.Quality{PodMbps: results.Float(900), HostMbps: results.Float(1000), Ratio: results.Float(0.9)}})
	ctx := context.WithValue(context.Background(), suiteKey{}, s)
	if _, err := writeReport(ctx, envconf.New()); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, "matrix.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var m results.Matrix
	if err := results.Decode(f, &m); err != nil {
		t.Fatal(err)
	}
	if m.Readiness == nil || m.Readiness.P99S != 2.25 || m.Cells[0].Quality == nil || *m.Cells[0].Quality.LossPct != 6 || *m.Cells[1].Quality.Ratio != 0.9 {
		t.Errorf("matrix.json lost the quality figures: readiness %+v, cells %+v", m.Readiness, m.Cells)
	}
	md, err := os.ReadFile(filepath.Join(dir, "e2e-podnet.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"### Data-path quality", "p50 1.50 s, p99 2.25 s", "| 6.0 | 47/50 | 0.20 | 1.10 |", "| 900 | 1000 | 0.90 | pass |"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("e2e-podnet.md lacks %q:\n%s", want, md)
		}
	}
	html, err := os.ReadFile(filepath.Join(dir, "e2e-podnet.html"))
	if err != nil || !strings.Contains(string(html), `id="quality"`) || !strings.Contains(string(html), `id="readiness"`) {
		t.Errorf("e2e-podnet.html lacks the quality table or readiness (%v)", err)
	}
}
