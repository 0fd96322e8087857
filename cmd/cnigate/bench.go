package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/cnigate/cnigate/bench"
	"github.com/cnigate/cnigate/report"
	"github.com/cnigate/cnigate/results"
)

func benchVerb() verb {
	return verb{name: "bench", args: "--plugin [NAME=]PATH --netconf FILE [--plugin ...] | --contenders FILE", short: "benchmark CNI plugins as a runtime runs them (root)",
		long: "make bench's runner (docs/bench.md, bench/README.md). Each --plugin starts a contender; the\n" +
			"--netconf, --cni-path and --field after it describe that one. --candidate and --baseline-plugin\n" +
			"make it a gate (exit 1 when the candidate is slower by more than --tolerance).\n" +
			"`bench --cluster FLAGS...` (--cluster first) is cluster-bench.",
		example: "  cnigate bench --plugin podnet=bin/podnet --netconf podnet.json.tmpl --plugin bridge=/opt/cni/bin/bridge --netconf bridge.json.tmpl --baseline bridge\n" +
			"  cnigate bench --baseline-plugin /opt/cni/bin/podnet --netconf podnet.json.tmpl --candidate bin/podnet --netconf podnet.json.tmpl",
		define: benchFlags}
}

func benchFlags(fs *flag.FlagSet) runFunc {
	o := bench.Defaults()
	gate := bench.DefaultGate()
	var tf bench.TableFlags
	tf.Register(fs)
	gate.Register(fs)
	dir := fs.String("report-dir", "_artifacts", "where to write bench.json, bench.txt and the reports")
	name := fs.String("name", "bench", "base name of the output files")
	o.Register(fs)
	out := outputFlag(fs)
	return func(ctx context.Context, c *call) error {
		format, err := out.format()
		if err != nil {
			return err
		}
		if err := noArgs(c); err != nil {
			return err
		}
		table, g, err := tf.Table(gate)
		if err != nil {
			return usagef("%v", err)
		}
		o.Gate = g
		return runBench(ctx, table, o, *dir, *name, format == outputJSON, c.stdout, c.stderr)
	}
}

func runBench(ctx context.Context, table bench.Table, o bench.Options, dirName, nameBase string, asJSON bool, stdout, stderr io.Writer) error {
	dir, name := &dirName, &nameBase
	doc := stdout
	if asJSON { // stdout is the document alone
		stdout = stderr
	}
	rep, err := bench.Run(ctx, table, o)
	if err != nil {
		return err
	}
	var table2 bytes.Buffer
	bench.WriteTable(&table2, rep)
	_, _ = stdout.Write(table2.Bytes())
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	raw := filepath.Join(*dir, *name+".json")
	if err := results.WriteFile(raw, rep); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(*dir, *name+".txt"), table2.Bytes(), 0o644); err != nil {
		return err
	}
	paths, err := report.Write(*dir, *name, report.FromBench(rep))
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "figures: %s; reports: %s\n", raw, strings.Join(paths, ", "))
	failed := !rep.Passed()
	if failed {
		fmt.Fprintln(stderr, "cnigate bench: a contender failed commands, handed out duplicate addresses or left interfaces behind (see above)")
	}
	if rep.Regressed() {
		fmt.Fprintf(stderr, "cnigate bench: REGRESSION: %s is slower than %s by more than %.0f%% (see the gate lines above)\n", rep.Gate.Candidate, rep.Gate.Baseline, rep.Gate.Tolerance*100)
		failed = true
	}
	if asJSON {
		if err := writeJSON(doc, rep); err != nil {
			return err
		}
	}
	if failed {
		return errFailed
	}
	return nil
}
