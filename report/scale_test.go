package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestScaleRunOf(t *testing.T) {
	phases := []E2EPhase{{"cluster create", 61.2}, {"image load", 9}, {"pods Ready", 20.5}, {"matrix (tests)", 180.25}}
	for _, c := range []struct {
		name string
		m    E2EMatrix
		want ScaleRun
		err  string
	}{
		{name: "kind run", m: E2EMatrix{Meta: map[string]string{"workers": "8", "host_mem_peak_mib": "9000", "host_mem_rise_mib": "7000"}, Passed: 900, Failed: 2, Skipped: 1, Phases: phases},
			want: ScaleRun{Dir: "d", Workers: 8, Cells: 903, Passed: 900, Failed: 2, ClusterCreate: 61.2, PodsReady: 20.5, Matrix: 180.25, PeakMiB: "9000", RiseMiB: "7000"}},
		{name: "gate run: no memory, no cluster create", m: E2EMatrix{Meta: map[string]string{"workers": "2", "host_mem": "not measured"}, Passed: 93, Phases: phases[2:]},
			want: ScaleRun{Dir: "d", Workers: 2, Cells: 93, Passed: 93, PodsReady: 20.5, Matrix: 180.25}},
		{name: "no workers in meta", m: E2EMatrix{Meta: map[string]string{}}, err: "no workers count"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := ScaleRunOf("d", c.m)
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

// ScaleRunFrom reads the files a run leaves, here the golden fixtures.
func TestScaleRunFrom(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"matrix.json", "phases-e2e.tsv"} {
		raw, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r, err := ScaleRunFrom(dir)
	if err != nil {
		t.Fatal(err)
	}
	if r.Workers != 2 || r.Cells == 0 || r.Matrix == 0 || r.PeakMiB == "" {
		t.Errorf("got %+v", r)
	}
	if err := os.Remove(filepath.Join(dir, "phases-e2e.tsv")); err != nil {
		t.Fatal(err)
	}
	if _, err := ScaleRunFrom(dir); err == nil {
		t.Error("no phases-e2e.tsv: no error")
	}
}
