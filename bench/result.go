package bench

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/coreos/go-iptables/iptables"
	"golang.org/x/sys/unix"

	"github.com/cnigate/cnigate/results"
)

// timing is one sequential command's process latencies as measured, the
// source of its figures in results.BenchLatency.
type timing struct {
	// durations are the successful processes' latencies, in run order.
	durations []time.Duration
	// rounds is the latency per round i, 0 for a failure: the gate pairs
	// contenders by round.
	rounds []time.Duration
	// cpuRounds is the CPU time per round (Response.CPU), 0 for a failure.
	cpuRounds []time.Duration
}

// summarizeLatency fills l's figures from t.
func summarizeLatency(l *results.BenchLatency, t timing) {
	l.N = len(t.durations) + l.Failures
	l.P50Ms, l.P90Ms, l.P99Ms = ms(percentile(t.durations, 50)), ms(percentile(t.durations, 90)), ms(percentile(t.durations, 99))
	if len(t.durations) > 0 {
		l.MinMs, l.MaxMs = ms(slices.Min(t.durations)), ms(slices.Max(t.durations))
	}
	var cpu []time.Duration
	for i, d := range t.rounds {
		if d > 0 && i < len(t.cpuRounds) && t.cpuRounds[i] > 0 { // a failed round is 0 in both
			cpu = append(cpu, t.cpuRounds[i])
		}
	}
	l.CPUP50Ms = ms(percentile(cpu, 50))
	l.SamplesMs = make([]float64, len(t.durations))
	for i, d := range t.durations {
		l.SamplesMs[i] = ms(d)
	}
}

// summarizeBurst fills b's median round and totals from its rounds.
func summarizeBurst(b *results.BenchBurst, size int) {
	b.Size = size
	var adds, dels, walls, addCPU, delCPU []float64
	for _, r := range b.Rounds {
		adds, dels, walls = append(adds, r.AddWallMs), append(dels, r.DelWallMs), append(walls, r.AddWallMs+r.DelWallMs)
		addCPU, delCPU = append(addCPU, r.AddCPUMs), append(delCPU, r.DelCPUMs)
		b.Failures += r.AddFailures + r.DelFailures
		b.DuplicateIPs += r.DuplicateIPs
		b.Unconfigured += r.Unconfigured
		b.BadResults += r.BadResults
		b.Leftovers += r.Leftovers
	}
	b.AddWallMs, b.DelWallMs, b.WallMs = median(adds), median(dels), median(walls)
	b.AddCPUMs, b.DelCPUMs = median(addCPU), median(delCPU)
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// finish summarizes every contender and computes ratios and targets.
func finish(rep *results.Bench, cs []*contender) {
	rep.Contenders = map[string]*results.BenchContender{}
	rep.Order = nil
	for _, c := range cs {
		r := &c.res
		r.Binary, r.Floor = c.plugin.Path, c.tmpl == nil
		r.Families = c.families
		if p := c.preload; p != nil {
			r.Preload = &results.Preload{Reservations: p.Reservations, Format: p.Format}
		}
		if c.subnet != nil {
			r.Subnet = c.subnet.String()
		}
		summarizeLatency(&r.Add, c.addTiming)
		summarizeLatency(&r.Del, c.delTiming)
		summarizeBurst(&r.Burst, rep.Config.Burst)
		r.PeakRSSKiB = max(r.RSS.AddKiB, r.RSS.DelKiB)
		r.PeakRSSMiB = float64(r.PeakRSSKiB*10/1024) / 10
		r.Failures = r.Add.Failures + r.Del.Failures + r.Burst.Failures
		r.DuplicateIPs = r.Add.DuplicateIPs + r.Burst.DuplicateIPs
		rep.Contenders[c.name] = r
		rep.Order = append(rep.Order, c.name)
	}
	rep.Ratios = map[string]map[string]float64{}
	for _, a := range rep.Order {
		for _, b := range rep.Order {
			if a != b {
				rep.Ratios[a+"/"+b] = ratios(rep.Contenders[a], rep.Contenders[b])
			}
		}
	}
	rep.Targets = nil
	for _, c := range cs {
		for _, tg := range c.targets {
			r := rep.Contenders[c.name]
			t := results.BenchTarget{
				What:      fmt.Sprintf("%s %s <= %.1fx %s", c.name, results.MetricName(tg.Metric), tg.Limit, tg.Against),
				Contender: c.name, Metric: tg.Metric, Against: tg.Against,
				Ratio: rep.Ratios[c.name+"/"+tg.Against][tg.Metric], Limit: tg.Limit,
			}
			t.Met = t.Ratio > 0 && t.Ratio <= t.Limit
			if tg.Clean {
				t.What += ", 0 failures, 0 duplicates"
				t.Met = t.Met && r.Burst.Failures == 0 && r.Burst.DuplicateIPs == 0 && r.Burst.Unconfigured == 0
			}
			rep.Targets = append(rep.Targets, t)
		}
	}
}

func ratios(p, o *results.BenchContender) map[string]float64 {
	return map[string]float64{
		results.MetricAddP50:   ratio(p.Add.P50Ms, o.Add.P50Ms),
		results.MetricDelP50:   ratio(p.Del.P50Ms, o.Del.P50Ms),
		results.MetricBurst:    ratio(p.Burst.WallMs, o.Burst.WallMs),
		results.MetricAddP99:   ratio(p.Add.P99Ms, o.Add.P99Ms),
		results.MetricDelP99:   ratio(p.Del.P99Ms, o.Del.P99Ms),
		results.MetricBurstAdd: ratio(p.Burst.AddWallMs, o.Burst.AddWallMs),
		results.MetricBurstDel: ratio(p.Burst.DelWallMs, o.Burst.DelWallMs),
		results.MetricAddCPU:   ratio(p.Add.CPUP50Ms, o.Add.CPUP50Ms),
		results.MetricDelCPU:   ratio(p.Del.CPUP50Ms, o.Del.CPUP50Ms),
	}
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return float64(int(a/b*100+0.5)) / 100
}

// WriteTable writes the human summary (bench.txt): a column per contender,
// then one per contender over the baseline.
func WriteTable(w io.Writer, rep *results.Bench) {
	others := slices.DeleteFunc(slices.Clone(rep.Order), func(n string) bool { return n == rep.Baseline })
	ipmasq := "as configured"
	if rep.Config.IPMasq != nil {
		ipmasq = fmt.Sprint(*rep.Config.IPMasq)
	}
	bursts := fmt.Sprintf("%d x burst of %d", rep.Config.BurstRounds, rep.Config.Burst)
	if rep.Config.BurstRounds == 0 {
		bursts = "no burst"
	}
	fmt.Fprintf(w, "\n%s (baseline %s): %d sequential ADD/DEL, %s, ipMasq %s, %s\n",
		strings.Join(rep.Order, " vs "), rep.Baseline, rep.Config.N, bursts, ipmasq, rep.Config.Subnet)
	if rep.Config.State != "" {
		fmt.Fprintf(w, "data dirs: %s\n", rep.Config.State)
	}
	for _, n := range rep.Order {
		r := rep.Contenders[n]
		otherState := r.State != "" && r.State != rep.Config.State
		if r.Subnet != rep.Config.Subnet && r.Subnet != "" || len(r.Families) > 1 || r.Preload != nil || otherState {
			line := fmt.Sprintf("%s: %s, %s", n, r.Subnet, strings.Join(r.Families, "+"))
			if p := r.Preload; p != nil {
				line += fmt.Sprintf(", %d reservations preloaded (%s)", p.Reservations, p.Format)
			}
			if otherState {
				line += ", data dir on " + r.State
			}
			fmt.Fprintln(w, line)
		}
	}
	for _, n := range rep.Order {
		if rep.Gate != nil && (n == rep.Gate.Candidate || n == rep.Gate.Baseline) {
			fmt.Fprintf(w, "%s: %s\n", n, rep.Contenders[n].Binary)
		}
	}
	fmt.Fprintf(w, "machine: %d cores (%s), %.0f GiB, kernel %s, %s, %s\n",
		rep.Machine.Cores, rep.Machine.CPU, rep.Machine.MemoryGiB, rep.Machine.Kernel, rep.Machine.IPTables, rep.Machine.Go)
	var loads []string
	for _, l := range rep.Machine.LoadAvg {
		if f := strings.Fields(l.LoadAvg); len(f) >= 3 {
			loads = append(loads, l.At+" "+strings.Join(f[:3], "/"))
		}
	}
	fmt.Fprintf(w, "load (1/5/15 min): %s\n", strings.Join(loads, ", "))
	var busy []string
	for _, u := range rep.Machine.CPUUse {
		busy = append(busy, fmt.Sprintf("%s %.2f", u.Phase, u.OthersCores))
	}
	fmt.Fprintf(w, "cores of %d busy with other work: %s\n\n", rep.Machine.Cores, strings.Join(busy, ", "))

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	header := "\t" + strings.Join(rep.Order, "\t") + "\t"
	for _, o := range others {
		header += o + "/" + rep.Baseline + "\t"
	}
	fmt.Fprintln(tw, header)
	base := rep.Contenders[rep.Baseline]
	row := func(name string, get func(*results.BenchContender) float64, format string) {
		line := name + "\t"
		for _, n := range rep.Order {
			line += fmt.Sprintf(format+"\t", get(rep.Contenders[n]))
		}
		for _, o := range others {
			line += fmt.Sprintf("%.2fx\t", ratio(get(rep.Contenders[o]), get(base)))
		}
		fmt.Fprintln(tw, line)
	}
	count := func(name string, get func(*results.BenchContender) int) {
		line := name + "\t"
		for _, n := range rep.Order {
			line += fmt.Sprintf("%d\t", get(rep.Contenders[n]))
		}
		fmt.Fprintln(tw, line+strings.Repeat("\t", len(others)))
	}
	row("ADD p50 (ms)", func(r *results.BenchContender) float64 { return r.Add.P50Ms }, "%.2f")
	row("ADD p90 (ms)", func(r *results.BenchContender) float64 { return r.Add.P90Ms }, "%.2f")
	row("ADD p99 (ms)", func(r *results.BenchContender) float64 { return r.Add.P99Ms }, "%.2f")
	row("DEL p50 (ms)", func(r *results.BenchContender) float64 { return r.Del.P50Ms }, "%.2f")
	row("DEL p90 (ms)", func(r *results.BenchContender) float64 { return r.Del.P90Ms }, "%.2f")
	row("DEL p99 (ms)", func(r *results.BenchContender) float64 { return r.Del.P99Ms }, "%.2f")
	row("ADD CPU p50 (ms)", func(r *results.BenchContender) float64 { return r.Add.CPUP50Ms }, "%.2f")
	row("DEL CPU p50 (ms)", func(r *results.BenchContender) float64 { return r.Del.CPUP50Ms }, "%.2f")
	count("sequential failures", func(r *results.BenchContender) int { return r.Add.Failures + r.Del.Failures })
	if rep.Config.BurstRounds > 0 {
		row("burst ADD wall (ms)", func(r *results.BenchContender) float64 { return r.Burst.AddWallMs }, "%.0f")
		row("burst DEL wall (ms)", func(r *results.BenchContender) float64 { return r.Burst.DelWallMs }, "%.0f")
		row("burst ADD CPU (ms)", func(r *results.BenchContender) float64 { return r.Burst.AddCPUMs }, "%.0f")
		row("burst DEL CPU (ms)", func(r *results.BenchContender) float64 { return r.Burst.DelCPUMs }, "%.0f")
		row("burst wall (ms)", func(r *results.BenchContender) float64 { return r.Burst.WallMs }, "%.0f")
		count("burst failures", func(r *results.BenchContender) int { return r.Burst.Failures })
		count("burst duplicate IPs", func(r *results.BenchContender) int { return r.Burst.DuplicateIPs })
	}
	count("bad ADD results", func(r *results.BenchContender) int { return r.Add.BadResults + r.Burst.BadResults })
	if rep.Config.RSSRuns > 0 {
		row("peak RSS (MiB)", func(r *results.BenchContender) float64 { return r.PeakRSSMiB }, "%.1f")
	}
	_ = tw.Flush()

	if rep.Config.BurstRounds > 0 {
		fmt.Fprintln(w, "\nburst wall = median over rounds of (ADD burst + DEL burst)")
	} else {
		fmt.Fprintf(w, "\nburst not measured: %s\n", rep.Config.BurstSkipped)
	}
	if rep.Config.RSSRuns > 0 {
		fmt.Fprintf(w, "peak RSS via bench/maxrss (launcher baseline %d KiB)\n", rep.Config.RSSLauncherBaselineKiB)
	} else {
		fmt.Fprintf(w, "peak RSS not measured: %s\n", rep.Config.MemorySkipped)
	}
	if len(rep.Targets) > 0 {
		fmt.Fprintln(w, "targets:")
	}
	for _, t := range rep.Targets {
		verdict := "MISSED"
		if t.Met {
			verdict = "met"
		}
		fmt.Fprintf(w, "  %-60s %5.2fx  %s\n", t.What, t.Ratio, verdict)
	}
	if g := rep.Gate; g != nil {
		fmt.Fprintf(w, "gate: is %s slower than %s by more than %.0f%%? (%s)\n", g.Candidate, g.Baseline, g.Tolerance*100, g.Method)
		for _, m := range g.Metrics {
			fmt.Fprintf(w, "  %s\n", m.Text(g))
		}
		fmt.Fprintf(w, "gate verdict: %s\n", g.Verdict)
	}
	for _, name := range rep.Order {
		for _, e := range rep.Contenders[name].Errors {
			fmt.Fprintf(w, "%s error: %s\n", name, e)
		}
	}
}

func describeMachine() results.Machine {
	m := results.Machine{Cores: runtime.NumCPU(), Go: runtime.Version(), Date: time.Now().UTC().Format(time.RFC3339)}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		m.Kernel = unix.ByteSliceToString(u.Release[:])
	}
	m.CPU = procField("/proc/cpuinfo", "model name")
	m.IPTables = iptablesVersion()
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) == nil {
		m.MemoryGiB = float64(si.Totalram) * float64(si.Unit) / (1 << 30)
	}
	return m
}

// iptablesVersion says which iptables the machine has, e.g. "v1.8.9 (nf_tables)":
// the version through go-iptables, the backend from the binary's link target
// (xtables-nft-multi or xtables-legacy-multi).
func iptablesVersion() string {
	ipt, err := iptables.New()
	if err != nil {
		return ""
	}
	major, minor, patch := ipt.GetIptablesVersion()
	v := fmt.Sprintf("v%d.%d.%d", major, minor, patch)
	if path, err := exec.LookPath("iptables"); err == nil {
		if target, err := filepath.EvalSymlinks(path); err == nil {
			switch base := filepath.Base(target); {
			case strings.Contains(base, "nft"):
				v += " (nf_tables)"
			case strings.Contains(base, "legacy"):
				v += " (legacy)"
			}
		}
	}
	return v
}

// procField is the value of the first "key: value" line of file.
func procField(file, key string) string {
	f, err := os.Open(file)
	if err != nil {
		return ""
	}
	defer func() { _ = f.Close() }()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if k, v, ok := strings.Cut(s.Text(), ":"); ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func loadNow(at string) results.LoadSample {
	data, _ := os.ReadFile("/proc/loadavg")
	return results.LoadSample{At: at, LoadAvg: strings.TrimSpace(string(data))}
}
