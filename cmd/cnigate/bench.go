package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/cnigate/cnigate/bench"
	"github.com/cnigate/cnigate/report"
	"github.com/cnigate/cnigate/results"
)

// contenderFlags collects --plugin/--netconf/--cni-path groups: each --plugin
// starts a contender, the flags after it describe that one.
type contenderFlags struct{ list []bench.Contender }

func (c *contenderFlags) plugin(v string) error {
	name, path, ok := strings.Cut(v, "=")
	if !ok {
		path, name = v, filepath.Base(v)
	}
	c.list = append(c.list, bench.Contender{Name: name, Plugin: path})
	return nil
}

func (c *contenderFlags) last(flag string) (*bench.Contender, error) {
	if len(c.list) == 0 || c.list[len(c.list)-1].Floor {
		return nil, fmt.Errorf("%s must follow the --plugin it belongs to", flag)
	}
	return &c.list[len(c.list)-1], nil
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	// `bench --cluster` is the in-cluster bench: the same runner as cluster-bench.
	if len(args) > 0 && (args[0] == "--cluster" || args[0] == "-cluster") {
		return runClusterBench(ctx, args[1:], stdout, stderr)
	}
	fs := newFlags("bench", stderr)
	d := bench.Defaults()
	o := d
	var cf contenderFlags
	fs.Func("plugin", "a contender: `[NAME=]PATH` of a plugin binary (repeat for more; NAME defaults to the file name)", cf.plugin)
	fs.Func("netconf", "network config `template` of the --plugin before it ({{.CNIVersion}} {{.Name}} {{.DataDir}} {{.Network}} {{.Subnet}} {{.MTU}})", func(v string) error {
		c, err := cf.last("--netconf")
		if err == nil {
			c.NetConf = v
		}
		return err
	})
	fs.Func("cni-path", "CNI_PATH `DIR` of the --plugin before it (default: the binary's directory)", func(v string) error {
		c, err := cf.last("--cni-path")
		if err == nil {
			c.CNIPath = v
		}
		return err
	})
	fs.Func("floor", "add bench/floor at `PATH` as the contender \"floor\" (the kernel work alone)", func(v string) error {
		cf.list = append(cf.list, bench.Contender{Name: "floor", Plugin: v, Floor: true})
		return nil
	})
	fs.Func("field", "a top-level override `KEY=JSON` of the rendered config of the --plugin before it (null deletes KEY; repeat for more)", func(v string) error {
		c, err := cf.last("--field")
		if err != nil {
			return err
		}
		key, raw, ok := strings.Cut(v, "=")
		var val any
		if !ok || key == "" {
			return fmt.Errorf("%q is not KEY=JSON", v)
		}
		if err := json.Unmarshal([]byte(raw), &val); err != nil {
			return fmt.Errorf("--field %s: value is not JSON: %w", key, err)
		}
		if c.Fields == nil {
			c.Fields = map[string]any{}
		}
		c.Fields[key] = val
		return nil
	})
	gate := bench.DefaultGate()
	var gateOn bool
	var baselinePlugin string
	fs.Func("candidate", "gate: add the contender `[NAME=]PATH` (NAME default \"candidate\"; --netconf etc. may follow) and gate it against the baseline", func(v string) error {
		if !strings.Contains(v, "=") {
			v = "candidate=" + v
		}
		gateOn = true
		gate.Candidate, _, _ = strings.Cut(v, "=")
		return cf.plugin(v)
	})
	fs.Func("baseline-plugin", "gate: add the contender `[NAME=]PATH` (NAME default \"baseline\"; --netconf etc. may follow) and make it the baseline", func(v string) error {
		if !strings.Contains(v, "=") {
			v = "baseline=" + v
		}
		baselinePlugin, _, _ = strings.Cut(v, "=")
		return cf.plugin(v)
	})
	fs.Func("gate", "gate the contender `NAME` against the baseline: exit 1 when it is slower by more than --tolerance (ADD or DEL p50)", func(v string) error {
		gateOn, gate.Candidate = true, v
		return nil
	})
	fs.Float64Var(&gate.Tolerance, "tolerance", gate.Tolerance, "gate: the slowdown allowed, as a fraction (0.10 = 10%)")
	fs.Float64Var(&gate.CPUTolerance, "cpu-tolerance", gate.CPUTolerance, "gate: the extra CPU time per ADD and DEL allowed, as a fraction")
	fs.Float64Var(&gate.Confidence, "confidence", gate.Confidence, "gate: confidence of the bootstrap interval of the p50 ratio")
	fs.IntVar(&gate.Resamples, "resamples", gate.Resamples, "gate: bootstrap resamples")
	fs.Uint64Var(&gate.Seed, "seed", gate.Seed, "gate: seed of the bootstrap (the verdict is reproducible from the samples)")
	contenders := fs.String("contenders", "", "a contender table (JSON, see bench/contenders.json) instead of or before --plugin flags")
	baseline := fs.String("baseline", "", "the contender ratios are computed against (default: the table's, else the first)")
	dir := fs.String("report-dir", "_artifacts", "where to write bench.json, bench.txt and the reports")
	name := fs.String("name", "bench", "base name of the output files")
	fs.StringVar(&o.MaxRSS, "maxrss", "", "bench/maxrss launcher binary; without it peak RSS is not measured")
	fs.IntVar(&o.N, "n", d.N, "sequential ADDs (then as many DELs) per contender")
	fs.IntVar(&o.Burst, "burst", d.Burst, "concurrent ADDs (then DELs) per burst")
	fs.IntVar(&o.BurstRounds, "burst-rounds", d.BurstRounds, "bursts per contender (the median round is reported)")
	fs.IntVar(&o.RSSRuns, "rss-runs", d.RSSRuns, "ADDs and DELs per contender measured for peak RSS")
	fs.StringVar(&o.Network, "network", d.Network, "cluster pod network")
	fs.StringVar(&o.Subnet, "subnet", d.Subnet, "node subnet, the one the pods share")
	fs.IntVar(&o.MTU, "mtu", d.MTU, "MTU")
	fs.Func("ipmasq", "`true|false`: override \"ipMasq\" in every contender's config (default: as the configs say)", func(v string) error {
		b, err := strconv.ParseBool(v)
		o.IPMasq = &b
		return err
	})
	fs.DurationVar(&o.Timeout, "timeout", d.Timeout, "limit for one plugin process")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}

	var table bench.Table
	if *contenders != "" {
		var err error
		if table, err = bench.LoadTable(*contenders); err != nil {
			return usagef("%v", err)
		}
	}
	table.Contenders = append(table.Contenders, cf.list...)
	switch {
	case baselinePlugin != "" && *baseline != "" && *baseline != baselinePlugin:
		return usagef("--baseline %s contradicts --baseline-plugin %s", *baseline, baselinePlugin)
	case baselinePlugin != "":
		table.Baseline = baselinePlugin
	case *baseline != "":
		table.Baseline = *baseline
	case table.Baseline == "" && len(table.Contenders) > 0:
		table.Baseline = table.Contenders[0].Name
	}
	if err := table.Validate(); err != nil {
		return usagef("%v", err)
	}

	if gateOn {
		if err := gate.Validate(table); err != nil {
			return usagef("%v", err)
		}
		o.Gate = &gate
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
	if failed {
		return errFailed
	}
	return nil
}
