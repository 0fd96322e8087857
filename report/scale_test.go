package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnigate/cnigate/results"
)

func TestScaleRunOf(t *testing.T) {
	phases := results.Phases{{Name: "cluster create", Seconds: 61.2}, {Name: "image load", Seconds: 9}, {Name: "pods Ready", Seconds: 20.5}, {Name: "matrix (tests)", Seconds: 180.25}}
	for _, c := range []struct {
		name string
		m    results.Matrix
		want ScaleRun
		err  string
	}{
		{name: "kind run", m: results.Matrix{Meta: map[string]string{"workers": "8", "host_mem_peak_mib": "9000", "host_mem_rise_mib": "7000"}, Passed: 900, Failed: 2, Skipped: 1, Phases: phases},
			want: ScaleRun{Dir: "d", Workers: 8, Cells: 903, Passed: 900, Failed: 2, ClusterCreate: 61.2, PodsReady: 20.5, Matrix: 180.25, PeakMiB: "9000", RiseMiB: "7000"}},
		{name: "gate run: no memory, no cluster create", m: results.Matrix{Meta: map[string]string{"workers": "2", "host_mem": "not measured"}, Passed: 93, Phases: phases[2:]},
			want: ScaleRun{Dir: "d", Workers: 2, Cells: 93, Passed: 93, PodsReady: 20.5, Matrix: 180.25}},
		{name: "no workers in meta", m: results.Matrix{Meta: map[string]string{}}, err: "no workers count"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := ScaleRunOf("d", &c.m)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want one containing %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("got %+v\nwant %+v", got, c.want)
			}
		})
	}
}

func TestScaleTable(t *testing.T) {
	runs := []ScaleRun{
		{Workers: 2, Cells: 100, Passed: 100, ClusterCreate: 30, PodsReady: 8, Matrix: 40, PeakMiB: "3000", RiseMiB: "2000"},
		{Workers: 4, Cells: 200, Passed: 199, Failed: 1, ClusterCreate: 45, PodsReady: 10, Matrix: 100},
		{Workers: 8, Cells: 0},
	}
	got := ScaleTable(runs)
	for _, want := range []string{
		"| workers | cells (passed, failed) | cluster create s | pods Ready s | matrix s | matrix ms per cell | matrix vs first | host memory peak MiB (rise) |\n|---|",
		"| 2 | 100 (100, 0) | 30.0 | 8.0 | 40.0 | 400 | 1.00x | 3000 (+2000) |\n",
		"| 4 | 200 (199, 1) | 45.0 | 10.0 | 100.0 | 500 | 2.50x | not measured |\n",
		"| 8 | 0 (0, 0) | - | - | - | - | - | not measured |\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("table lacks %q:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "\n"); n != 2+len(runs) {
		t.Errorf("%d lines, want %d:\n%s", n, 2+len(runs), got)
	}
}

// ScaleRunFrom reads the files a run leaves: a v1 matrix.json carries its
// phases, a v0 one takes them from phases-e2e.tsv beside it.
func TestScaleRunFrom(t *testing.T) {
	copyTo := func(dir string, files ...string) {
		for _, f := range files {
			raw, err := os.ReadFile(filepath.Join("..", "results", "testdata", f))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), raw, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	v1, v0 := t.TempDir(), t.TempDir()
	copyTo(v1, "matrix.json")
	copyTo(v0, "v0/matrix.json", "v0/phases-e2e.tsv")
	for _, dir := range []string{v1, v0} {
		r, err := ScaleRunFrom(dir)
		if err != nil {
			t.Fatal(err)
		}
		if r.Workers != 2 || r.Cells != 14 || r.Matrix != 40.7 || r.PeakMiB == "" {
			t.Errorf("got %+v", r)
		}
	}
	if err := os.Remove(filepath.Join(v0, "phases-e2e.tsv")); err != nil {
		t.Fatal(err)
	}
	if _, err := ScaleRunFrom(v0); err == nil {
		t.Error("a v0 matrix.json without phases-e2e.tsv: no error")
	}
}
