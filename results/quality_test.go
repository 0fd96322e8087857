package results

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLossPct(t *testing.T) {
	for _, tc := range []struct {
		name           string
		sent, received int
		want           float64
		err            string
	}{
		{"none lost", 50, 50, 0, ""},
		{"one of fifty", 50, 49, 2, ""},
		{"all lost", 50, 0, 100, ""},
		{"duplicates never make it negative", 50, 52, 0, ""},
		{"nothing sent", 0, 0, 0, "no echo sent"},
		{"negative received", 10, -1, 0, "negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := LossPct(tc.sent, tc.received)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("LossPct(%d, %d) error %v, want %q", tc.sent, tc.received, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("LossPct(%d, %d) = %v, %v; want %v", tc.sent, tc.received, got, err, tc.want)
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	hundred := make([]float64, 100)
	for i := range hundred {
		hundred[i] = float64(100 - i) // 100..1, unsorted
	}
	for _, tc := range []struct {
		name string
		vs   []float64
		p    float64
		want float64
		err  string
	}{
		{"one value", []float64{7}, 50, 7, ""},
		{"p50 of an even count is the lower middle", []float64{4, 1, 3, 2}, 50, 2, ""},
		{"p99 of 100 values", hundred, 99, 99, ""},
		{"p100 is the max", hundred, 100, 100, ""},
		{"p1 of 100 values", hundred, 1, 1, ""},
		{"p99 of 50 values is the max", hundred[50:], 99, 50, ""},
		{"no values", nil, 50, 0, "no values"},
		{"p 0", []float64{1}, 0, 0, "want 0 < p <= 100"},
		{"p over 100", []float64{1}, 101, 0, "want 0 < p <= 100"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Percentile(tc.vs, tc.p)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("Percentile(p%v) = %v, %v; want %v", tc.p, got, err, tc.want)
			}
		})
	}
	// durations too, and the input is not reordered
	ds := []time.Duration{3 * time.Millisecond, time.Millisecond, 2 * time.Millisecond}
	if got, _ := Percentile(ds, 50); got != 2*time.Millisecond || ds[0] != 3*time.Millisecond {
		t.Errorf("Percentile(durations, 50) = %v (input %v)", got, ds)
	}
}

// A v1 matrix (before the quality figures) reads as v2 without them.
func TestV1MatrixReadsAsV2(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "v1", "matrix.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var m Matrix
	if err := Decode(f, &m); err != nil {
		t.Fatal(err)
	}
	if m.Schema != "e2e-matrix/v2" || m.Readiness != nil || len(m.Cells) == 0 {
		t.Errorf("v1 matrix read as %q, readiness %v, %d cells", m.Schema, m.Readiness, len(m.Cells))
	}
	for _, c := range m.Cells {
		if c.Quality != nil {
			t.Errorf("cell %s has quality figures in a v1 file", c.Name)
		}
	}
}
