package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/cnigate/cnigate/results"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// fixtures are the inputs of the golden tests: a matrix in the shape the
// e2e suite writes and a bench.json of a short real run (both upgraded from
// v0, see results/testdata), and a Ginkgo report of a real netns suite run
// with one spec turned into a failure.
func fixtures(t *testing.T) map[string]*Report {
	t.Helper()
	var m results.Matrix
	if err := results.ReadFile(filepath.Join("..", "results", "testdata", "matrix.json"), &m); err != nil {
		t.Fatal(err)
	}
	return map[string]*Report{"e2e": FromE2E(&m), "bench": FromBench(benchFixture(t)), "conformance": FromConformance(conformanceFixture(t))}
}

func benchFixture(t *testing.T) *results.Bench {
	t.Helper()
	var b results.Bench
	if err := results.ReadFile(filepath.Join("..", "results", "testdata", "bench.json"), &b); err != nil {
		t.Fatal(err)
	}
	return &b
}

func conformanceFixture(t *testing.T) *results.Conformance {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "conformance.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	c, err := results.DecodeConformance(f)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestGolden(t *testing.T) {
	for kind, r := range fixtures(t) {
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			paths, err := Write(dir, kind, r)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range paths {
				got, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				golden := filepath.Join("testdata", "golden", filepath.Base(p))
				if *update {
					if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(golden, got, 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (go test ./report -update writes it)", err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s differs from %s (go test ./report -update rewrites it after a deliberate change)", filepath.Base(p), golden)
				}
			}
		})
	}
}

func TestE2EGridLaysCellsOutByFromAndTo(t *testing.T) {
	r := fixtures(t)["e2e"]
	var icmp, ipam *E2EGrid
	for i, g := range r.E2E.Grids {
		switch g.Protocol {
		case "icmp":
			icmp = &r.E2E.Grids[i]
		case "ipam":
			ipam = &r.E2E.Grids[i]
		}
	}
	if icmp == nil || ipam == nil || len(r.E2E.Grids) != 3 {
		t.Fatalf("grids: %+v", r.E2E.Grids)
	}
	if strings.Join(icmp.From, ",") != "shell-w1,shell-w2" || strings.Join(icmp.To, ",") != "web-w1,web-w2,external,node-w1" {
		t.Errorf("icmp from %v to %v", icmp.From, icmp.To)
	}
	if got := icmp.Cells[1][3]; len(got) != 0 {
		t.Errorf("shell-w2 -> node-w1 is not checked, got %+v", got)
	}
	if got := ipam.Cells[0][0]; len(got) != 2 {
		t.Errorf("two behaviours check shell-w1 -> store@w1, the cell holds %d", len(got))
	}
	if icmp.MaxLatencyMS != 0.412 {
		t.Errorf("icmp max latency %v", icmp.MaxLatencyMS)
	}
	s := r.Summary()
	if s != (Summary{Passed: 12, Failed: 1, Skipped: 1}) || r.OK() {
		t.Errorf("summary %+v ok %v", s, r.OK())
	}
}

func TestConformanceIsSpecsBySpecVersions(t *testing.T) {
	r := fixtures(t)["conformance"]
	v := r.Conformance
	if got := strings.Join(v.Versions, ","); got != "0.3.0,0.3.1,0.4.0,1.0.0,1.1.0,any" {
		t.Errorf("versions %s", got)
	}
	var second *ConformanceRow
	for i, row := range v.Rows {
		if strings.HasPrefix(row.Spec, "attachment lifecycle / a second ADD") {
			second = &v.Rows[i]
		}
		if strings.Contains(row.Spec, "cniVersion") {
			t.Errorf("row %q still carries the version", row.Spec)
		}
	}
	if second == nil {
		t.Fatal("no row for the second-ADD spec")
	}
	var states []string
	for _, c := range second.Cells {
		states = append(states, c.State)
	}
	if got := strings.Join(states, ","); got != "passed,passed,failed,passed,passed," {
		t.Errorf("second-ADD row %s", got)
	}
	if len(v.Failures) != 1 || v.Failures[0].Version != "0.4.0" || !strings.Contains(v.Failures[0].Message, "second ADD succeeded") {
		t.Errorf("failures %+v", v.Failures)
	}
	if s := r.Summary(); s.Failed != 1 || s.Passed == 0 {
		t.Errorf("summary %+v", s)
	}
	var said bool
	for _, f := range r.Facts {
		said = said || (f.Name == "BeforeSuite said" && strings.Contains(f.Value, "versions"))
	}
	if !said {
		t.Errorf("the BeforeSuite's line is not among the facts: %+v", r.Facts)
	}
}

func TestBenchCaseFailsOnADirtyRun(t *testing.T) {
	in := benchFixture(t)
	if r := FromBench(in); !r.OK() || len(r.Cases) != 3 {
		t.Fatalf("clean run: ok %v, %d cases", r.OK(), len(r.Cases))
	}
	in.Contenders["bridge"].Burst.DuplicateIPs = 2
	r := FromBench(in)
	if r.OK() || r.Cases[1].Result != results.Fail || !strings.Contains(r.Cases[1].Detail, "2 duplicate IPs") {
		t.Fatalf("duplicates not a failure: %+v", r.Cases)
	}
	if got := r.Bench.Header; strings.Join(got, ",") != ",podnet,bridge,floor,podnet/bridge,floor/bridge" {
		t.Errorf("header %v", got)
	}
}

func TestJUnitCountsAndFailures(t *testing.T) {
	for kind, r := range fixtures(t) {
		var b bytes.Buffer
		if err := writeJUnit(&b, r); err != nil {
			t.Fatal(err)
		}
		var doc junitSuites
		if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		s := r.Summary()
		var cases, failures, skipped int
		for _, su := range doc.Suites {
			cases += len(su.Cases)
			for _, c := range su.Cases {
				if c.Failure != nil {
					failures++
					if c.Failure.Message == "" {
						t.Errorf("%s: failure of %s without a message", kind, c.Name)
					}
				}
				if c.Skipped != nil {
					skipped++
				}
			}
		}
		if doc.Tests != len(r.Cases) || cases != len(r.Cases) || failures != s.Failed || doc.Failures != s.Failed || skipped != s.Skipped {
			t.Errorf("%s: tests %d/%d cases, %d failures (%d), %d skipped, want %+v", kind, doc.Tests, cases, failures, doc.Failures, skipped, s)
		}
	}
}

func TestJSONDocumentCarriesTheVerdict(t *testing.T) {
	for kind, r := range fixtures(t) {
		var b bytes.Buffer
		if err := writeJSON(&b, r); err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Kind    string  `json:"kind"`
			OK      bool    `json:"ok"`
			Summary Summary `json:"summary"`
			Cases   []Case  `json:"cases"`
		}
		if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		if doc.Kind != kind || doc.OK != r.OK() || doc.Summary != r.Summary() || len(doc.Cases) != len(r.Cases) {
			t.Errorf("%s: %+v", kind, doc)
		}
	}
}

// The page must render with no network: nothing may point outside it.
func TestHTMLIsSelfContained(t *testing.T) {
	external := regexp.MustCompile(`(?i)(src|href)\s*=\s*"?(https?:)?//|@import|url\(\s*['"]?https?:`)
	for kind, r := range fixtures(t) {
		var b bytes.Buffer
		if err := writeHTML(&b, r); err != nil {
			t.Fatal(err)
		}
		if m := external.FindString(b.String()); m != "" {
			t.Errorf("%s page refers outside itself: %q", kind, m)
		}
		if !strings.Contains(b.String(), "<svg") && kind != "conformance" {
			t.Errorf("%s page has no chart", kind)
		}
	}
}

func TestMarkdownEscapes(t *testing.T) {
	r := &Report{Kind: "e2e", Title: "a <b>", Facts: []Fact{{"k", "x | y\nz"}}, Cases: []Case{{Suite: "s", Name: "n_1", Result: results.Fail, Detail: "<script>"}}}
	var b bytes.Buffer
	if err := writeMarkdown(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"a &lt;b&gt;", `x \| y z`, `n\_1`, "&lt;script&gt;", "❌ FAILED"} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}
}

func TestSpecKeyFindsTheVersion(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		spec                 types.SpecReport
		wantKey, wantVersion string
	}{
		{"per-version context", types.SpecReport{ContainerHierarchyTexts: []string{"lifecycle", "cniVersion 1.0.0"}, LeafNodeText: "ADD works"},
			"lifecycle / ADD works", "1.0.0"},
		{"version label", types.SpecReport{ContainerHierarchyTexts: []string{"gc"}, LeafNodeText: "GC works", LeafNodeLabels: []string{"generic", "cniVersion:1.1.0"}},
			"gc / GC works", "1.1.0"},
		{"a leaf that only mentions a version", types.SpecReport{ContainerHierarchyTexts: []string{"errors"}, LeafNodeText: "refuses cniVersion 9.9.9 with code 1"},
			"errors / refuses cniVersion 9.9.9 with code 1", AnyVersion},
		{"a leaf that names the version its label runs it at", types.SpecReport{ContainerHierarchyTexts: []string{"chaining"}, LeafNodeText: "ADD works at cniVersion 0.4.0, with portmap", LeafNodeLabels: []string{"cniVersion:0.4.0"}},
			"chaining / ADD works at each cniVersion, with portmap", "0.4.0"},
		{"a container that only mentions a version", types.SpecReport{ContainerHierarchyTexts: []string{"GC below cniVersion 1.1.0"}, LeafNodeText: "fails"},
			"GC below cniVersion 1.1.0 / fails", AnyVersion},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key, ver, labels := specKey(tc.spec)
			if key != tc.wantKey || ver != tc.wantVersion {
				t.Fatalf("specKey = %q, %q; want %q, %q", key, ver, tc.wantKey, tc.wantVersion)
			}
			for _, l := range labels {
				if strings.HasPrefix(l, "cniVersion") {
					t.Errorf("version label %q kept among the labels", l)
				}
			}
		})
	}
}

func TestBenchGateVerdictInEveryFormat(t *testing.T) {
	for _, tc := range []struct {
		name       string
		regression bool
		verdict    string
		result     results.Result
	}{
		{"pass", false, "pass", results.Pass},
		{"regression", true, "REGRESSION", results.Fail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := benchFixture(t)
			in.Config.BurstSkipped = "burst-rounds 0"
			in.Gate = &results.BenchGate{Candidate: "podnet", Baseline: "bridge", Tolerance: 0.1, Confidence: 0.95, Method: "median of the paired ratios",
				Regression: tc.regression, Verdict: tc.verdict,
				Metrics: []results.BenchGateMetric{{Metric: "add_p50", Pairs: 200, CandidateP50: 26, BaselineP50: 18, P50Ratio: 1.44, Ratio: 1.466, Low: 1.394, High: 1.581, Regression: tc.regression}}}
			r := FromBench(in)
			gate := r.Cases[len(r.Cases)-1]
			if gate.Suite != "gate" || gate.Result != tc.result || !strings.Contains(gate.Detail, "CI [1.394, 1.581]") {
				t.Fatalf("gate case %+v", gate)
			}
			if r.OK() == tc.regression {
				t.Fatalf("report OK %v with regression %v", r.OK(), tc.regression)
			}
			dir := t.TempDir()
			if _, err := Write(dir, "bench", r); err != nil {
				t.Fatal(err)
			}
			read := func(name string) string {
				data, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil {
					t.Fatal(err)
				}
				return string(data)
			}
			for file, want := range map[string][]string{
				"bench.md":          {"gate verdict: " + tc.verdict, "CI [1.394, 1.581]", "burst not measured"},
				"bench.html":        {`id="gate"`, "[1.394, 1.581]", "1.10x"},
				"bench.junit.xml":   {"gate verdict: " + tc.verdict, "gate: podnet within 10% of bridge"},
				"bench.report.json": {`"regression": ` + map[bool]string{true: "true", false: "false"}[tc.regression]},
			} {
				got := read(file)
				for _, w := range want {
					if !strings.Contains(got, w) {
						t.Errorf("%s lacks %q", file, w)
					}
				}
			}
			if html := read("bench.html"); strings.Contains(html, "<h2>Bursts</h2>") || strings.Contains(html, "burst ADD wall (ms)") {
				t.Error("bench.html shows bursts of a run without a burst phase")
			}
		})
	}
}

func TestEndpointNodeReadsTheHarnessNames(t *testing.T) {
	for endpoint, want := range map[string]string{
		"shell-w1": "w1", "node-cp": "cp", "hostport@node-w2": "w2", "svc/web-w10 (itself)": "w10",
		"store@w1 (round 2)": "w1", "route 10.244.1.0/24 (w2)": "w2", "external": "external",
		"kill 3": "", "https://kubernetes.default": "", "web-w2.ns.svc.cluster.local": "w2", "cpu-hog": "",
	} {
		if got := endpointNode(endpoint); got != want {
			t.Errorf("endpointNode(%q) = %q, want %q", endpoint, got, want)
		}
	}
}

// TestE2EK8sConformanceIsACase: the upstream stage off its list fails the
// report naming the spec; on its list it is a passed case.
func TestE2EK8sConformanceIsACase(t *testing.T) {
	cell := results.Cell{Behaviour: "pod -> pod", Name: "n", From: "a", To: "b", Protocol: "icmp", Result: results.Pass}
	for _, tc := range []struct {
		name       string
		verdict    results.KnownFailuresVerdict
		want       results.Result
		wantDetail string
	}{
		{"on its list", results.KnownFailuresVerdict{OK: true, List: "podnet.known-failures", Ran: 45, Passed: 45}, results.Pass, "45 specs ran: 45 passed"},
		{"a new failure", results.KnownFailuresVerdict{List: "bridge.known-failures", Ran: 45, Passed: 44, NewFailures: []string{"[sig-network] HostPort ... (failed)"}}, results.Fail, "new failures: [sig-network] HostPort ... (failed)"},
		{"could not run", results.KnownFailuresVerdict{}, results.Fail, "could not run: loading registry.k8s.io/e2e-test-images/agnhost:2.56: no such image"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := &results.K8sConformance{KnownFailuresVerdict: tc.verdict, Seconds: 120, Artifacts: "_artifacts/k8s-conformance"}
			if tc.name == "could not run" {
				k.Error = "loading registry.k8s.io/e2e-test-images/agnhost:2.56: no such image"
			}
			m := &results.Matrix{Cells: []results.Cell{cell}, Passed: 1, K8sConformance: k}
			r := FromE2E(m)
			var got *Case
			for i := range r.Cases {
				if r.Cases[i].Suite == "k8s-conformance" {
					got = &r.Cases[i]
				}
			}
			if got == nil || got.Result != tc.want || !strings.Contains(got.Detail, tc.wantDetail) || !strings.Contains(got.Detail, "_artifacts/k8s-conformance") {
				t.Fatalf("k8s-conformance case = %+v, want %s with %q", got, tc.want, tc.wantDetail)
			}
			if s := r.Summary(); (s.Failed > 0) != (tc.want == results.Fail) {
				t.Errorf("summary %+v: the stage's verdict must decide the report's", s)
			}
		})
	}
}
