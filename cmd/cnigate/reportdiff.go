package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/cnigate/cnigate/report"
	"github.com/cnigate/cnigate/results"
)

// runReportDiff: `cnigate report diff BEFORE AFTER`: what changed between two
// e2e runs (matrix.json) or two bench runs (bench.json). It prints the
// Markdown, writes NAME.md and NAME.html to the report dir, and exits 1 when
// something regressed (a cell turned red, a figure got slower).
func runReportDiff(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("report diff", stderr)
	dir := fs.String("report-dir", "_artifacts", "where to write NAME.md and NAME.html")
	name := fs.String("name", "diff", "base name of the diff's files")
	tolerance := fs.Float64("tolerance", report.DefaultDiffTolerance, "a figure moved when its whole 95% interval is beyond 1 ± this")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usagef("give two runs: cnigate report diff BEFORE.json AFTER.json (two matrix.json or two bench.json)")
	}
	if *tolerance <= 0 || *tolerance >= 1 {
		return usagef("--tolerance %g: want a fraction between 0 and 1", *tolerance)
	}
	d, err := diffRuns(fs.Arg(0), fs.Arg(1), *tolerance)
	if err != nil {
		return err
	}
	if err := report.WriteDiffMarkdown(stdout, d); err != nil {
		return err
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	for ext, write := range map[string]func(io.Writer, *report.Diff) error{".md": report.WriteDiffMarkdown, ".html": report.WriteDiffHTML} {
		f, err := os.Create(filepath.Join(*dir, *name+ext))
		if err != nil {
			return err
		}
		err = write(f, d)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	fmt.Fprintf(stderr, "wrote %s.md and %s.html\n", filepath.Join(*dir, *name), filepath.Join(*dir, *name))
	if d.Regressed() {
		return errFailed
	}
	return nil
}

// diffRuns reads two runs of one kind: e2e matrices or bench runs.
func diffRuns(a, b string, tolerance float64) (*report.Diff, error) {
	var ma, mb results.Matrix
	errA := results.ReadFile(a, &ma)
	if errA == nil {
		if err := results.ReadFile(b, &mb); err != nil {
			return nil, fmt.Errorf("%s is an e2e matrix, so %s must be one: %w", a, b, err)
		}
		return report.DiffMatrix(a, &ma, b, &mb, tolerance), nil
	}
	var ba, bb results.Bench
	errB := results.ReadFile(a, &ba)
	if errB != nil {
		return nil, fmt.Errorf("%s: neither an e2e matrix nor a bench run: %w", a, errors.Join(errA, errB))
	}
	if err := results.ReadFile(b, &bb); err != nil {
		return nil, fmt.Errorf("%s is a bench run, so %s must be one: %w", a, b, err)
	}
	return report.DiffBench(a, &ba, b, &bb, tolerance), nil
}
