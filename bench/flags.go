package bench

import (
	"encoding/json"
	"flag"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// Register defines the measuring options as flags of fs (cnigate bench),
// their defaults the values o holds (Defaults()).
func (o *Options) Register(fs *flag.FlagSet) {
	fs.StringVar(&o.MaxRSS, "maxrss", o.MaxRSS, "bench/maxrss launcher binary; without it peak RSS is not measured")
	fs.IntVar(&o.N, "n", o.N, "sequential ADDs (then as many DELs) per contender")
	fs.IntVar(&o.Burst, "burst", o.Burst, "concurrent ADDs (then DELs) per burst")
	fs.IntVar(&o.BurstRounds, "burst-rounds", o.BurstRounds, "bursts per contender (the median round is reported)")
	fs.IntVar(&o.RSSRuns, "rss-runs", o.RSSRuns, "ADDs and DELs per contender measured for peak RSS")
	fs.StringVar(&o.Network, "network", o.Network, "cluster pod network")
	fs.StringVar(&o.Subnet, "subnet", o.Subnet, "node subnet, the one the pods share")
	fs.IntVar(&o.MTU, "mtu", o.MTU, "MTU")
	fs.Func("ipmasq", "`true|false`: override \"ipMasq\" in every contender's config (default: as the configs say)", func(v string) error {
		b, err := strconv.ParseBool(v)
		o.IPMasq = &b
		return err
	})
	fs.DurationVar(&o.Timeout, "timeout", o.Timeout, "limit for one plugin process")
	fs.StringVar(&o.State, "state", o.State, "where the contenders' data dirs live, unless their table entry says: `tmpfs` (one the run mounts) or host ($TMPDIR's filesystem)")
	fs.DurationVar(&o.Settle, "settle", o.Settle, "when a contender's state is on the host: wait until this long after the previous bench on this machine removed its files before starting (0: no wait; files made soon after many deletions cost more on some filesystems)")
}

// Register defines the gate's statistics as flags of fs, their defaults
// the values g holds (DefaultGate()).
func (g *GateOptions) Register(fs *flag.FlagSet) {
	fs.Float64Var(&g.Tolerance, "tolerance", g.Tolerance, "gate: the slowdown allowed, as a fraction (0.10 = 10%)")
	fs.Float64Var(&g.CPUTolerance, "cpu-tolerance", g.CPUTolerance, "gate: the extra CPU time per ADD and DEL allowed, as a fraction")
	fs.Float64Var(&g.Confidence, "confidence", g.Confidence, "gate: confidence of the bootstrap interval of the p50 ratio")
	fs.IntVar(&g.Resamples, "resamples", g.Resamples, "gate: bootstrap resamples")
	fs.Uint64Var(&g.Seed, "seed", g.Seed, "gate: seed of the bootstrap (the verdict is reproducible from the samples)")
}

// TableFlags is the contender table on a command line: each --plugin (or
// --candidate, --baseline-plugin) starts a contender and the --netconf,
// --cni-path and --field after it describe that one, so the flags are
// order-sensitive (a FlagSet sets them in command-line order); --contenders
// loads a table first.
type TableFlags struct {
	list           []Contender
	file, baseline string
	baselinePlugin string
	gateOn         bool
	candidate      string
}

// Register defines the table's flags on fs.
func (f *TableFlags) Register(fs *flag.FlagSet) {
	fs.Func("plugin", "a contender: `[NAME=]PATH` of a plugin binary (repeat for more; NAME defaults to the file name)", f.plugin)
	fs.Func("netconf", "network config `template` of the --plugin before it ({{.CNIVersion}} {{.Name}} {{.DataDir}} {{.Network}} {{.Subnet}} {{.MTU}})", func(v string) error {
		c, err := f.last("--netconf")
		if err == nil {
			c.NetConf = v
		}
		return err
	})
	fs.Func("cni-path", "CNI_PATH `DIR` of the --plugin before it (default: the binary's directory)", func(v string) error {
		c, err := f.last("--cni-path")
		if err == nil {
			c.CNIPath = v
		}
		return err
	})
	fs.Func("floor", "add bench/floor at `PATH` as the contender \"floor\" (the kernel work alone)", func(v string) error {
		f.list = append(f.list, Contender{Name: "floor", Plugin: v, Floor: true})
		return nil
	})
	fs.Func("field", "a top-level override `KEY=JSON` of the rendered config of the --plugin before it (null deletes KEY; repeat for more)", func(v string) error {
		c, err := f.last("--field")
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
	fs.Func("candidate", "gate: add the contender `[NAME=]PATH` (NAME default \"candidate\"; --netconf etc. may follow) and gate it against the baseline", func(v string) error {
		if !strings.Contains(v, "=") {
			v = "candidate=" + v
		}
		f.gateOn = true
		f.candidate, _, _ = strings.Cut(v, "=")
		return f.plugin(v)
	})
	fs.Func("baseline-plugin", "gate: add the contender `[NAME=]PATH` (NAME default \"baseline\"; --netconf etc. may follow) and make it the baseline", func(v string) error {
		if !strings.Contains(v, "=") {
			v = "baseline=" + v
		}
		f.baselinePlugin, _, _ = strings.Cut(v, "=")
		return f.plugin(v)
	})
	fs.Func("gate", "gate the contender `NAME` against the baseline: exit 1 when it is slower by more than --tolerance (ADD or DEL p50)", func(v string) error {
		f.gateOn, f.candidate = true, v
		return nil
	})
	fs.StringVar(&f.file, "contenders", "", "a contender table (JSON, see bench/contenders.json) instead of or before --plugin flags")
	fs.StringVar(&f.baseline, "baseline", "", "the contender ratios are computed against (default: the table's, else the first)")
}

func (f *TableFlags) plugin(v string) error {
	name, path, ok := strings.Cut(v, "=")
	if !ok {
		path, name = v, filepath.Base(v)
	}
	f.list = append(f.list, Contender{Name: name, Plugin: path})
	return nil
}

func (f *TableFlags) last(flag string) (*Contender, error) {
	if len(f.list) == 0 || f.list[len(f.list)-1].Floor {
		return nil, fmt.Errorf("%s must follow the --plugin it belongs to", flag)
	}
	return &f.list[len(f.list)-1], nil
}

// Table is the table the flags describe, validated, and gate with its
// candidate when the flags ask for a gate (else nil). Errors are the
// command line's (a usage error).
func (f *TableFlags) Table(gate GateOptions) (Table, *GateOptions, error) {
	var table Table
	if f.file != "" {
		var err error
		if table, err = LoadTable(f.file); err != nil {
			return Table{}, nil, err
		}
	}
	table.Contenders = append(table.Contenders, f.list...)
	switch {
	case f.baselinePlugin != "" && f.baseline != "" && f.baseline != f.baselinePlugin:
		return Table{}, nil, fmt.Errorf("--baseline %s contradicts --baseline-plugin %s", f.baseline, f.baselinePlugin)
	case f.baselinePlugin != "":
		table.Baseline = f.baselinePlugin
	case f.baseline != "":
		table.Baseline = f.baseline
	case table.Baseline == "" && len(table.Contenders) > 0:
		table.Baseline = table.Contenders[0].Name
	}
	if err := table.Validate(); err != nil {
		return Table{}, nil, err
	}
	if !f.gateOn {
		return table, nil, nil
	}
	gate.Candidate = f.candidate
	if err := gate.Validate(table); err != nil {
		return Table{}, nil, err
	}
	return table, &gate, nil
}
