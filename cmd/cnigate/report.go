package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/cnigate/cnigate/report"
	"github.com/cnigate/cnigate/results"
)

// reportKinds are report's subcommands: the kinds of run it renders.
var reportKinds = []struct{ kind, in string }{
	{"e2e", "matrix.json"},
	{"bench", "bench.json"},
	{"cluster-bench", "cluster-bench.json"},
	{"conformance", "a Ginkgo JSON report (cnigate conformance's NAME.ginkgo.json, --ginkgo.json-report)"},
	{"rollout", "rollout.json"},
}

func reportVerb() verb {
	v := verb{name: "report", args: "KIND --in FILE", short: "render a finished run's JSON as JUnit XML, JSON, Markdown and HTML",
		long: "KIND is e2e, bench, cluster-bench, conformance or rollout; `report e2e-scale DIR...` prints the\n" +
			"growth of the e2e matrix over several runs. report exits 0 once the files are written: the\n" +
			"run's own exit status carried its verdict.",
		example: "  cnigate report e2e --in _artifacts/matrix.json --report-dir _artifacts\n  cnigate report bench --in _artifacts/bench.json --output json | jq .gate",
		rawArgs: true,
		define: func(*flag.FlagSet) runFunc {
			return func(_ context.Context, c *call) error {
				if len(c.args) == 0 || c.args[0] == "" || c.args[0][0] == '-' {
					return usagef("name the kind of run: e2e, bench, cluster-bench, conformance, rollout or e2e-scale")
				}
				return usagef("unknown kind %q: e2e, bench, cluster-bench, conformance, rollout or e2e-scale", c.args[0])
			}
		}}
	for _, k := range reportKinds {
		v.sub = append(v.sub, verb{name: k.kind, args: "--in FILE", short: "render a " + k.kind + " run (" + k.in + ")",
			example: "  cnigate report " + k.kind + " --in _artifacts/" + strings.Fields(k.in)[0] + " --report-dir _artifacts",
			define:  func(fs *flag.FlagSet) runFunc { return reportFlags(fs, k.kind) }})
	}
	v.sub = append(v.sub, verb{name: "diff", args: "BEFORE.json AFTER.json", short: "what changed between two runs: cells that turned red or green, slower or faster figures",
		long: "Two matrix.json (e2e) or two bench.json (bench). e2e: the cells that turned red or green, now\n" +
			"skipped or run, added or gone, whose latency more than doubled, and the median latency ratio of\n" +
			"the cells that passed in both with its bootstrap 95% interval. bench: per contender ADD p50, DEL\n" +
			"p50 and the burst wall time as a ratio of medians with a bootstrap 95% interval; a figure moved\n" +
			"only when its whole interval is beyond 1 ± --tolerance (fewer than 5 samples: shown, not judged).\n" +
			"Writes NAME.md and NAME.html to --report-dir. Exit status 1 when a cell turned red or a figure\n" +
			"got slower.",
		example: "  cnigate report diff _artifacts/before/matrix.json _artifacts/after/matrix.json\n  cnigate report diff old/bench.json new/bench.json --tolerance 0.05 --output json",
		define: func(fs *flag.FlagSet) runFunc {
			tol := fs.Float64("tolerance", report.DefaultDiffTolerance, "a figure moved when its whole 95% interval is beyond 1 ± this (0.05: 5%)")
			dir := fs.String("report-dir", "_artifacts", "where to write NAME.md and NAME.html")
			name := fs.String("name", "diff", "base name of the diff's files")
			out := outputFlag(fs)
			return func(_ context.Context, c *call) error {
				format, err := out.format()
				if err != nil {
					return err
				}
				if len(c.args) != 2 {
					return usagef("want two runs' files, BEFORE and AFTER, got %d", len(c.args))
				}
				if *tol <= 0 || *tol >= 1 {
					return usagef("--tolerance %g: want a fraction between 0 and 1", *tol)
				}
				d, err := diffRuns(c.args[0], c.args[1], *tol)
				if err != nil {
					return err
				}
				if format == outputJSON {
					err = writeJSON(c.stdout, d)
				} else {
					err = report.WriteDiffMarkdown(c.stdout, d)
				}
				if err != nil {
					return err
				}
				if err := writeDiffFiles(*dir, *name, d); err != nil {
					return err
				}
				if d.Regressed() {
					return errFailed
				}
				return nil
			}
		}})
	v.sub = append(v.sub, verb{name: "e2e-scale", args: "DIR...", short: "print how the e2e matrix grows over several runs (each DIR with its matrix.json)",
		example: "  cnigate report e2e-scale _artifacts/scale-2 _artifacts/scale-4 _artifacts/scale-8",
		define: func(*flag.FlagSet) runFunc {
			return func(_ context.Context, c *call) error { return runScaleReport(c.args, c.stdout) }
		}})
	return v
}

func reportFlags(fs *flag.FlagSet, kind string) runFunc {
	in := fs.String("in", "", "the run's JSON: matrix.json (e2e), bench.json (bench), cluster-bench.json (cluster-bench), a Ginkgo JSON report (conformance), rollout.json (rollout)")
	dir := fs.String("report-dir", "_artifacts", "where to write the reports")
	name := fs.String("name", kind, "base name of the report files")
	var phases *string
	if kind == "e2e" {
		phases = fs.String("phases", "", "a matrix.json without phases (v0): phase timings (name<TAB>seconds lines); default: phases-e2e.tsv next to --in, if there")
	}
	out := outputFlag(fs)
	return func(_ context.Context, c *call) error {
		if *in == "" {
			return usagef("--in is required")
		}
		if err := noArgs(c); err != nil {
			return err
		}
		format, err := out.format()
		if err != nil {
			return err
		}
		// the file list goes to stderr when stdout carries the JSON
		msgs := c.stdout
		if format == outputJSON {
			msgs = c.stderr
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
			fmt.Fprintf(msgs, "wrote %v\n", paths)
			if format == outputJSON {
				return writeJSON(c.stdout, &ro)
			}
			return nil
		}
		ph := ""
		if phases != nil {
			ph = *phases
		}
		r, doc, err := readReport(kind, *in, ph)
		if err != nil {
			return err
		}
		paths, err := report.Write(*dir, *name, r)
		if err != nil {
			return err
		}
		printWritten(msgs, r, paths)
		if format == outputJSON {
			return writeJSON(c.stdout, doc)
		}
		return nil
	}
}

// readReport decodes a run's file of the kind named (unknown fields, another
// kind of file and a run without cells or contenders are errors) and lays
// it out as a report.
func readReport(kind, in, phases string) (*report.Report, any, error) {
	switch kind {
	case "e2e":
		var m results.Matrix
		if err := results.ReadFile(in, &m); err != nil {
			return nil, nil, err
		}
		switch {
		case m.Phases != nil && phases != "":
			return nil, nil, usagef("--phases: %s carries its phases (a v1 matrix.json): give --phases only with a v0 one", in)
		case m.Phases == nil:
			var err error
			if m.Phases, err = readPhases(phases, filepath.Join(filepath.Dir(in), "phases-e2e.tsv")); err != nil {
				return nil, nil, err
			}
		}
		return report.FromE2E(&m), &m, nil
	case "bench":
		var b results.Bench
		if err := results.ReadFile(in, &b); err != nil {
			return nil, nil, err
		}
		return report.FromBench(&b), &b, nil
	case "cluster-bench":
		var c results.ClusterBench
		if err := results.ReadFile(in, &c); err != nil {
			return nil, nil, err
		}
		return report.FromClusterBench(&c), &c, nil
	case "conformance":
		run, err := results.ReadConformance(in)
		if err != nil {
			return nil, nil, err
		}
		return report.FromConformance(run), run, nil
	}
	return nil, nil, usagef("unknown kind %q: e2e, bench, cluster-bench or conformance", kind)
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

// printWritten says what a report holds and where its files went.
func printWritten(stdout io.Writer, r *report.Report, paths []string) {
	s := r.Summary()
	fmt.Fprintf(stdout, "%s: %d passed, %d failed, %d skipped; reports:\n", r.Title, s.Passed, s.Failed, s.Skipped)
	for _, p := range paths {
		fmt.Fprintf(stdout, "  %s\n", p)
	}
}
