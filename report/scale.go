package report

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/cnigate/cnigate/results"
)

// The e2e matrix at scale: one row per run (`make e2e WORKERS=N`), read from
// each run's matrix.json and phases-e2e.tsv, printed as a table of how the
// matrix grows with the workers.

// ScaleRun is what one e2e run says about its size and its cost.
type ScaleRun struct {
	Dir     string
	Workers int
	Cells   int // every cell listed: passed, failed, skipped
	Passed  int
	Failed  int
	// Seconds of the suite's phases (0 when the run did not reach them).
	ClusterCreate, PodsReady, Matrix float64
	// Host memory used (MemTotal - MemAvailable), MiB: peak and rise over the
	// start; "" when the run did not measure it (gate mode).
	PeakMiB, RiseMiB string
}

// ScaleRunFrom reads one run's figures from its matrix.json (and, for a v0
// matrix.json without phases, phases-e2e.tsv next to it).
func ScaleRunFrom(dir string) (ScaleRun, error) {
	var m results.Matrix
	if err := results.ReadFile(filepath.Join(dir, "matrix.json"), &m); err != nil {
		return ScaleRun{Dir: dir}, err
	}
	if m.Phases == nil {
		pf, err := os.Open(filepath.Join(dir, "phases-e2e.tsv"))
		if err != nil {
			return ScaleRun{Dir: dir}, err
		}
		defer func() { _ = pf.Close() }()
		if m.Phases, err = results.ReadPhasesTSV(pf); err != nil {
			return ScaleRun{Dir: dir}, fmt.Errorf("%s: %w", dir, err)
		}
	}
	return ScaleRunOf(dir, &m)
}

// ScaleRunOf takes a run's figures out of its matrix (with phases).
func ScaleRunOf(dir string, m *results.Matrix) (ScaleRun, error) {
	r := ScaleRun{Dir: dir, Cells: m.Passed + m.Failed + m.Skipped, Passed: m.Passed, Failed: m.Failed,
		PeakMiB: m.Meta[results.MetaHostMemPeak], RiseMiB: m.Meta[results.MetaHostMemRise]}
	w, err := strconv.Atoi(m.Meta["workers"])
	if err != nil {
		return r, fmt.Errorf("%s: matrix.json meta has no workers count (a run older than the scale figures?)", dir)
	}
	r.Workers = w
	for _, p := range m.Phases {
		switch p.Name {
		case results.PhaseClusterCreate:
			r.ClusterCreate = p.Seconds
		case results.PhasePodsReady:
			r.PodsReady = p.Seconds
		case results.PhaseMatrix:
			r.Matrix = p.Seconds
		}
	}
	return r, nil
}

// ScaleTable renders runs as a Markdown table, in the order given, with the
// matrix time per cell and relative to the first run.
func ScaleTable(runs []ScaleRun) string {
	var b strings.Builder
	b.WriteString("| workers | cells (passed, failed) | cluster create s | pods Ready s | matrix s | matrix ms per cell | matrix vs first | host memory peak MiB (rise) |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|\n")
	for _, r := range runs {
		perCell, rel := "-", "-"
		if r.Cells > 0 && r.Matrix > 0 {
			perCell = fmt.Sprintf("%.0f", r.Matrix*1000/float64(r.Cells))
		}
		if len(runs) > 0 && runs[0].Matrix > 0 && r.Matrix > 0 {
			rel = fmt.Sprintf("%.2fx", r.Matrix/runs[0].Matrix)
		}
		mem := "not measured"
		if r.PeakMiB != "" {
			mem = fmt.Sprintf("%s (+%s)", r.PeakMiB, r.RiseMiB)
		}
		fmt.Fprintf(&b, "| %d | %d (%d, %d) | %s | %s | %s | %s | %s | %s |\n", r.Workers, r.Cells, r.Passed, r.Failed,
			scaleSecs(r.ClusterCreate), scaleSecs(r.PodsReady), scaleSecs(r.Matrix), perCell, rel, mem)
	}
	return b.String()
}

func scaleSecs(s float64) string {
	if s == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", s)
}
