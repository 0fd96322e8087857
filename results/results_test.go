package results

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.json from testdata/v0 (go test ./results -run TestV0FilesUpgrade -update)")

// readV0 decodes a v0 file of testdata/v0 (a matrix takes its phases from
// phases-e2e.tsv beside it, as v0 had them).
func readV0(t *testing.T, name string, f File) {
	t.Helper()
	if err := ReadFile(filepath.Join("testdata", "v0", name), f); err != nil {
		t.Fatal(err)
	}
	if m, ok := f.(*Matrix); ok {
		tsv, err := os.Open(filepath.Join("testdata", "v0", "phases-e2e.tsv"))
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = tsv.Close() }()
		if m.Phases, err = ReadPhasesTSV(tsv); err != nil {
			t.Fatal(err)
		}
	}
}

// The files of today's producers before schema versions (testdata/v0) read
// as v1, and write as the checked-in v1 fixtures (testdata/*.json, which the
// report's golden tests and the CLI's tests take).
func TestV0FilesUpgrade(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    File
	}{
		{"matrix.json", &Matrix{}},
		{"bench.json", &Bench{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			readV0(t, tc.name, tc.f)
			var b bytes.Buffer
			if err := Encode(&b, tc.f); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", tc.name)
			if *update {
				if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (go test ./results -run TestV0FilesUpgrade -update writes it)", err)
			}
			if !bytes.Equal(b.Bytes(), want) {
				t.Errorf("%s/v0 upgraded differs from %s", tc.f.Spec().Kind, golden)
			}
		})
	}
	var m Matrix
	readV0(t, "matrix.json", &m)
	if m.Schema != "e2e-matrix/v2" || m.Failed != 1 || len(m.Phases) != 6 {
		t.Errorf("v0 matrix: schema %q, %d failed, phases %v", m.Schema, m.Failed, m.Phases)
	}
	for _, c := range m.Cells {
		if !c.Result.Valid() {
			t.Errorf("cell %s: result %q after the upgrade", c.Name, c.Result)
		}
	}
}

// Every checked-in v1 file decodes strictly and encodes back to itself: the
// fixtures and what the producers wrote (testdata/produced, see
// resultstest).
func TestV1FilesRoundTrip(t *testing.T) {
	for name, f := range map[string]File{"matrix.json": &Matrix{}, "bench.json": &Bench{},
		"produced/matrix.json": &Matrix{}, "produced/matrix-setup-failed.json": &Matrix{}, "produced/bench.json": &Bench{},
		"produced/cluster-bench.json": &ClusterBench{}} {
		want, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := Decode(bytes.NewReader(want), f); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var got bytes.Buffer
		if err := Encode(&got, f); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Errorf("%s does not encode back to itself", name)
		}
	}
}

func TestDecodeRefuses(t *testing.T) {
	v0Bench, err := os.ReadFile(filepath.Join("testdata", "v0", "bench.json"))
	if err != nil {
		t.Fatal(err)
	}
	v1Bench, err := os.ReadFile(filepath.Join("testdata", "bench.json"))
	if err != nil {
		t.Fatal(err)
	}
	cell := `{"name":"icmp:a->b","protocol":"icmp","result":"pass"}`
	for _, tc := range []struct {
		name, in string
		f        File
		want     string
	}{
		{"not JSON", `{`, &Matrix{}, "want a e2e-matrix file, one JSON object"},
		{"a list", `[]`, &Bench{}, "want a bench file, one JSON object"},
		{"empty object as a matrix", `{}`, &Matrix{}, `no "cells"`},
		{"empty object as a bench", `{}`, &Bench{}, `no "order" or no "contenders"`},
		{"empty object as a cluster bench", `{}`, &ClusterBench{}, `"cnis" must pool two CNIs`},
		{"a v1 bench as a matrix", string(v1Bench), &Matrix{}, `a bench file (schema "bench/v1"), not e2e-matrix`},
		{"a v0 bench as a matrix", string(v0Bench), &Matrix{}, `a bench file (no "schema" field: v0, it has "contenders"), not e2e-matrix`},
		{"a v0 matrix as a cluster bench", `{"cells":[` + cell + `]}`, &ClusterBench{}, "a e2e-matrix file"},
		{"a newer version", `{"schema":"e2e-matrix/v3","cells":[]}`, &Matrix{}, `schema "e2e-matrix/v3": this cnigate reads e2e-matrix/v0 to e2e-matrix/v2`},
		{"a bad schema", `{"schema":"matrix"}`, &Matrix{}, `want <kind>/v<N>`},
		{"an unknown field, v1", `{"schema":"e2e-matrix/v1","cells":[` + cell + `],"passed":1,"extra":1}`, &Matrix{}, `e2e-matrix/v1: json: unknown field "extra"`},
		{"an unknown field, v0", `{"cells":[` + cell + `],"passed":1,"extra":1}`, &Matrix{}, `read as e2e-matrix/v0`},
		{"an unknown result", `{"schema":"e2e-matrix/v1","cells":[{"name":"x","protocol":"icmp","result":"FAIL"}],"skipped":1}`, &Matrix{}, `result "FAIL" is not one of pass, fail, skip`},
		{"a cell without protocol", `{"cells":[{"name":"x","result":"pass"}]}`, &Matrix{}, "cell 0 lacks a name or protocol"},
		{"counts that lie", `{"cells":[` + cell + `],"passed":2}`, &Matrix{}, "counts 2 passed"},
		{"two documents", `{"cells":[` + cell + `],"passed":1} {}`, &Matrix{}, "after top-level value"},
		{"bench order without figures", `{"order":["a"],"contenders":{"b":{}},"baseline":"b"}`, &Bench{}, `contender "a" of "order" has no figures`},
		{"bench unknown baseline", `{"order":["a"],"contenders":{"a":{}},"baseline":"b"}`, &Bench{}, `"baseline" "b" is not a contender`},
		{"cluster bench round of another CNI", `{"cnis":[{"cni":"a"},{"cni":"b"}],"rounds":[{"cni":"c"}]}`, &ClusterBench{}, `round 0: CNI "c"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Decode(strings.NewReader(tc.in), tc.f)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// A matrix whose setup failed has no cells but says why: it decodes, and
// is no passed run.
func TestMatrixOfAFailedSetupDecodes(t *testing.T) {
	var m Matrix
	if err := Decode(strings.NewReader(`{"schema":"e2e-matrix/v1","cells":[],"run_error":"create cluster: boom"}`), &m); err != nil {
		t.Fatal(err)
	}
	if m.RunError == "" {
		t.Error("run error lost")
	}
}

// Encode stamps the current schema whatever the value held.
func TestEncodeStampsTheSchema(t *testing.T) {
	for _, f := range []File{&Matrix{Schema: "x"}, &Bench{}, &ClusterBench{}} {
		var b bytes.Buffer
		if err := Encode(&b, f); err != nil {
			t.Fatal(err)
		}
		var head struct{ Schema string }
		if err := json.Unmarshal(b.Bytes(), &head); err != nil {
			t.Fatal(err)
		}
		if head.Schema != f.Spec().String() || !strings.HasPrefix(b.String(), "{\n  \"schema\": ") {
			t.Errorf("%T: schema %q first in %.40q", f, head.Schema, b.String())
		}
	}
}

func TestParseSchema(t *testing.T) {
	for _, tc := range []struct {
		in      string
		kind    Kind
		version int
	}{{"e2e-matrix/v1", KindMatrix, 1}, {"bench/v0", KindBench, 0}, {"rollout/v12", "rollout", 12}} {
		k, v, err := ParseSchema(tc.in)
		if err != nil || k != tc.kind || v != tc.version {
			t.Errorf("ParseSchema(%q) = %q, %d, %v", tc.in, k, v, err)
		}
	}
	for _, in := range []string{"", "bench", "bench/1", "bench/v", "bench/v01", "Bench/v1", "bench/v1/x"} {
		if _, _, err := ParseSchema(in); err == nil {
			t.Errorf("ParseSchema(%q): no error", in)
		}
	}
}

func TestPhasesTSVRoundTrip(t *testing.T) {
	p := Phases{{Name: PhaseClusterCreate, Seconds: 41.2}, {Name: PhaseMatrix, Seconds: 40.7}}
	got, err := ReadPhasesTSV(strings.NewReader(p.TSV()))
	if err != nil || len(got) != 2 || got[1] != p[1] {
		t.Errorf("%v, %v", got, err)
	}
	if _, err := ReadPhasesTSV(strings.NewReader("cluster create\n")); err == nil || !strings.Contains(err.Error(), "phases line 1") {
		t.Errorf("a line without seconds: %v", err)
	}
}

func TestDecodeConformance(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`[]`, "no suite"},
		{`{"schema":"bench/v1"}`, "not a list of suite reports"},
		{`[{"SuiteDescription":"x","Extra":1}]`, `unknown field "Extra"`},
	} {
		if _, err := DecodeConformance(strings.NewReader(tc.in)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.in, err, tc.want)
		}
	}
	f, err := os.Open(filepath.Join("..", "report", "testdata", "conformance.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	run, err := DecodeConformance(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Specs()) == 0 {
		t.Error("no specs")
	}
}
