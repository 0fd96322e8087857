package report

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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

// Phase names the suite writes in phases-e2e.tsv and the host memory keys of
// matrix.json's meta: e2e/matrix writes them under these names, the growth
// table reads them.
const (
	PhaseClusterCreate = "cluster create"
	PhasePodsReady     = "pods Ready"
	PhaseMatrix        = "matrix (tests)"

	MetaHostMemStart = "host_mem_start_mib"
	MetaHostMemPeak  = "host_mem_peak_mib"
	MetaHostMemRise  = "host_mem_rise_mib"
)

// ScaleRunFrom reads one run's figures from its matrix.json and the
// phase timings next to it.
func ScaleRunFrom(dir string) (ScaleRun, error) {
	r := ScaleRun{Dir: dir}
	f, err := os.Open(filepath.Join(dir, "matrix.json"))
	if err != nil {
		return r, err
	}
	defer func() { _ = f.Close() }()
	m, err := DecodeE2E(f)
	if err != nil {
		return r, fmt.Errorf("%s: %w", dir, err)
	}
	pf, err := os.Open(filepath.Join(dir, "phases-e2e.tsv"))
	if err != nil {
		return r, err
	}
	defer func() { _ = pf.Close() }()
	if m.Phases, err = ReadPhasesTSV(pf); err != nil {
		return r, fmt.Errorf("%s: %w", dir, err)
	}
	return ScaleRunOf(dir, m)
}

// ScaleRunOf takes a run's figures out of its decoded matrix (with phases).
func ScaleRunOf(dir string, m E2EMatrix) (ScaleRun, error) {
	r := ScaleRun{Dir: dir, Cells: m.Passed + m.Failed + m.Skipped, Passed: m.Passed, Failed: m.Failed,
		PeakMiB: m.Meta[MetaHostMemPeak], RiseMiB: m.Meta[MetaHostMemRise]}
	w, err := strconv.Atoi(m.Meta["workers"])
	if err != nil {
		return r, fmt.Errorf("%s: matrix.json meta has no workers count (a run older than the scale figures?)", dir)
	}
	r.Workers = w
	for _, p := range m.Phases {
		switch p.Name {
		case PhaseClusterCreate:
			r.ClusterCreate = p.Seconds
		case PhasePodsReady:
			r.PodsReady = p.Seconds
		case PhaseMatrix:
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
