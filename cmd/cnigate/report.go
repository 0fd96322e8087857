package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/cnigate/cnigate/report"
	"github.com/cnigate/cnigate/results"
)

func runReport(_ context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "" || args[0][0] == '-' {
		return usagef("name the kind of run: e2e, bench, cluster-bench, conformance, rollout or e2e-scale")
	}
	kind := args[0]
	if kind == "e2e-scale" {
		return runScaleReport(args[1:], stdout)
	}
	if kind == "diff" {
		return runReportDiff(args[1:], stdout, stderr)
	}
	fs := newFlags("report "+kind, stderr)
	in := fs.String("in", "", "the run's JSON: matrix.json (e2e), bench.json (bench), cluster-bench.json (cluster-bench), a Ginkgo JSON report (conformance), rollout.json (rollout)")
	dir := fs.String("report-dir", "_artifacts", "where to write the reports")
	name := fs.String("name", kind, "base name of the report files")
	phases := fs.String("phases", "", "e2e, a matrix.json without phases (v0): phase timings (name<TAB>seconds lines); default: phases-e2e.tsv next to --in, if there")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if *in == "" {
		return usagef("--in is required")
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if kind == "rollout" { // its own Markdown and HTML (the timeline): report.WriteRollout
		var ro results.Rollout
		if err := results.ReadFile(*in, &ro); err != nil {
			return err
		}
		paths, err := report.WriteRollout(*dir, &ro)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %v\n", paths)
		return nil
	}
	r, err := readReport(kind, *in, *phases)
	if err != nil {
		return err
	}
	paths, err := report.Write(*dir, *name, r)
	if err != nil {
		return err
	}
	printWritten(stdout, r, paths)
	return nil
}

// readReport decodes a run's file of the kind named (unknown fields, another
// kind of file and a run without cells or contenders are errors) and lays
// it out as a report.
func readReport(kind, in, phases string) (*report.Report, error) {
	switch kind {
	case "e2e":
		var m results.Matrix
		if err := results.ReadFile(in, &m); err != nil {
			return nil, err
		}
		switch {
		case m.Phases != nil && phases != "":
			return nil, usagef("--phases: %s carries its phases (a v1 matrix.json): give --phases only with a v0 one", in)
		case m.Phases == nil:
			var err error
			if m.Phases, err = readPhases(phases, filepath.Join(filepath.Dir(in), "phases-e2e.tsv")); err != nil {
				return nil, err
			}
		}
		return report.FromE2E(&m), nil
	case "bench":
		var b results.Bench
		if err := results.ReadFile(in, &b); err != nil {
			return nil, err
		}
		return report.FromBench(&b), nil
	case "cluster-bench":
		var c results.ClusterBench
		if err := results.ReadFile(in, &c); err != nil {
			return nil, err
		}
		return report.FromClusterBench(&c), nil
	case "conformance":
		run, err := decodeGinkgoJSON(in)
		if err != nil {
			return nil, err
		}
		return report.FromConformance(run), nil
	}
	return nil, usagef("unknown kind %q: e2e, bench, cluster-bench or conformance", kind)
}

// runScaleReport prints how the e2e matrix grows with the workers: one row
// per run directory (matrix.json, and phases-e2e.tsv for a v0 one), in the
// order given.
func runScaleReport(dirs []string, stdout io.Writer) error {
	if len(dirs) == 0 {
		return usagef("report e2e-scale: name the run directories (each with matrix.json)")
	}
	var runs []report.ScaleRun
	for _, d := range dirs {
		r, err := report.ScaleRunFrom(d)
		if err != nil {
			return err
		}
		runs = append(runs, r)
	}
	_, err := io.WriteString(stdout, report.ScaleTable(runs))
	return err
}

// readPhases reads the phases file given, else the default one when it exists.
func readPhases(given, fallback string) (results.Phases, error) {
	path := given
	if path == "" {
		if _, err := os.Stat(fallback); err != nil {
			return nil, nil
		}
		path = fallback
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	ph, err := results.ReadPhasesTSV(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ph, nil
}

// decodeGinkgoJSON reads a Ginkgo JSON report (--ginkgo.json-report, or
// what cnigate conformance writes).
func decodeGinkgoJSON(path string) (*results.Conformance, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	run, err := results.DecodeConformance(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return run, nil
}

// printWritten says what a report holds and where its files went.
func printWritten(stdout io.Writer, r *report.Report, paths []string) {
	s := r.Summary()
	fmt.Fprintf(stdout, "%s: %d passed, %d failed, %d skipped; reports:\n", r.Title, s.Passed, s.Failed, s.Skipped)
	for _, p := range paths {
		fmt.Fprintf(stdout, "  %s\n", p)
	}
}
