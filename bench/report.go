package main

import (
	"bufio"
	"encoding/json"
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

	"golang.org/x/sys/unix"
)

// report is what bench.json holds.
type report struct {
	Machine    machine                     `json:"machine"`
	Config     config                      `json:"config"`
	Contenders map[string]*contenderResult `json:"contenders"`
	// Ratios are podnet's figure over the other's: "podnet/bridge" and
	// "podnet/floor", each with add_p50, del_p50 and burst (wall time of the
	// ADD burst plus the DEL burst).
	Ratios  map[string]map[string]float64 `json:"ratios"`
	Targets []target                      `json:"targets"`
}

type machine struct {
	Cores     int          `json:"cores"`
	CPU       string       `json:"cpu"`
	MemoryGiB float64      `json:"memory_gib"`
	Kernel    string       `json:"kernel"`
	Go        string       `json:"go"`
	IPTables  string       `json:"iptables"`
	Date      string       `json:"date"`
	LoadAvg   []loadSample `json:"loadavg"`
	// CPUUse splits the cores between the benchmark and everything else, per phase.
	CPUUse []phaseCPU `json:"cpu_use"`
}

type loadSample struct {
	At      string `json:"at"`
	LoadAvg string `json:"loadavg"` // /proc/loadavg: 1, 5, 15 minutes, runnable/all, last pid
}

type config struct {
	N                      int    `json:"n"`
	Burst                  int    `json:"burst"`
	BurstRounds            int    `json:"burst_rounds"`
	RSSRuns                int    `json:"rss_runs"`
	Network                string `json:"network"`
	Subnet                 string `json:"subnet"`
	Bridge                 string `json:"bridge"`
	MTU                    int    `json:"mtu"`
	IPMasq                 bool   `json:"ipmasq"`
	CNIVersion             string `json:"cni_version"`
	RSSLauncherBaselineKiB int64  `json:"rss_launcher_baseline_kib"`
}

type contenderResult struct {
	Binary string  `json:"binary"`
	Add    latency `json:"add"`
	Del    latency `json:"del"`
	Burst  burst   `json:"burst"`
	RSS    struct {
		AddKiB int64 `json:"add_kib"`
		DelKiB int64 `json:"del_kib"`
	} `json:"rss"`
	PeakRSSKiB int64   `json:"peak_rss_kib"`
	PeakRSSMiB float64 `json:"peak_rss_mib"`
	// Failures and DuplicateIPs add up the sequential and burst phases.
	Failures     int      `json:"failures"`
	DuplicateIPs int      `json:"duplicate_ips"`
	Errors       []string `json:"errors,omitempty"`
}

// latency is the sequential figures of one command; the percentiles are over
// the successful processes.
type latency struct {
	N            int     `json:"n"`
	Failures     int     `json:"failures"`
	P50Ms        float64 `json:"p50_ms"`
	P90Ms        float64 `json:"p90_ms"`
	P99Ms        float64 `json:"p99_ms"`
	MinMs        float64 `json:"min_ms"`
	MaxMs        float64 `json:"max_ms"`
	DuplicateIPs int     `json:"duplicate_ips,omitempty"` // ADD: addresses on more than one pod
	Unconfigured int     `json:"unconfigured,omitempty"`  // ADD: pods left without an address
	Leftovers    int     `json:"leftovers,omitempty"`     // DEL: interfaces left behind

	durations []time.Duration
}

// burst is the median round (wall times) and the totals over all rounds.
type burst struct {
	Size         int          `json:"size"`
	AddWallMs    float64      `json:"add_wall_ms"`
	DelWallMs    float64      `json:"del_wall_ms"`
	WallMs       float64      `json:"wall_ms"` // ADD burst + DEL burst
	Failures     int          `json:"failures"`
	DuplicateIPs int          `json:"duplicate_ips"`
	Unconfigured int          `json:"unconfigured"`
	Leftovers    int          `json:"leftovers"`
	Rounds       []burstRound `json:"rounds"`
}

type burstRound struct {
	AddWallMs    float64 `json:"add_wall_ms"`
	DelWallMs    float64 `json:"del_wall_ms"`
	AddFailures  int     `json:"add_failures"`
	DelFailures  int     `json:"del_failures"`
	DuplicateIPs int     `json:"duplicate_ips"`
	Unconfigured int     `json:"unconfigured"`
	Leftovers    int     `json:"leftovers"`
}

type target struct {
	What  string  `json:"what"`
	Ratio float64 `json:"ratio"`
	Limit float64 `json:"limit"`
	Met   bool    `json:"met"`
}

func (r *contenderResult) latency(cmd string) *latency {
	if cmd == "ADD" {
		return &r.Add
	}
	return &r.Del
}

func (l *latency) summarize() {
	l.N = len(l.durations) + l.Failures
	l.P50Ms, l.P90Ms, l.P99Ms = ms(percentile(l.durations, 50)), ms(percentile(l.durations, 90)), ms(percentile(l.durations, 99))
	if len(l.durations) > 0 {
		l.MinMs, l.MaxMs = ms(slices.Min(l.durations)), ms(slices.Max(l.durations))
	}
}

func (b *burst) summarize(size int) {
	b.Size = size
	var adds, dels, walls []float64
	for _, r := range b.Rounds {
		adds, dels, walls = append(adds, r.AddWallMs), append(dels, r.DelWallMs), append(walls, r.AddWallMs+r.DelWallMs)
		b.Failures += r.AddFailures + r.DelFailures
		b.DuplicateIPs += r.DuplicateIPs
		b.Unconfigured += r.Unconfigured
		b.Leftovers += r.Leftovers
	}
	b.AddWallMs, b.DelWallMs, b.WallMs = median(adds), median(dels), median(walls)
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
func (rep *report) finish(cs []*contender) {
	rep.Contenders = map[string]*contenderResult{}
	for _, c := range cs {
		r := &c.res
		r.Binary = c.plugin.Path
		r.Add.summarize()
		r.Del.summarize()
		r.Burst.summarize(rep.Config.Burst)
		r.PeakRSSKiB = max(r.RSS.AddKiB, r.RSS.DelKiB)
		r.PeakRSSMiB = float64(r.PeakRSSKiB*10/1024) / 10
		r.Failures = r.Add.Failures + r.Del.Failures + r.Burst.Failures
		r.DuplicateIPs = r.Add.DuplicateIPs + r.Burst.DuplicateIPs
		rep.Contenders[c.name] = r
	}
	p, b, f := rep.Contenders["podnet"], rep.Contenders["bridge"], rep.Contenders["floor"]
	rep.Ratios = map[string]map[string]float64{
		"podnet/bridge": ratios(p, b),
		"podnet/floor":  ratios(p, f),
	}
	pb, pf := rep.Ratios["podnet/bridge"], rep.Ratios["podnet/floor"]
	clean := p.Burst.Failures == 0 && p.Burst.DuplicateIPs == 0 && p.Burst.Unconfigured == 0
	rep.Targets = []target{
		{What: "ADD p50 <= 1.0x bridge", Ratio: pb["add_p50"], Limit: 1.0},
		{What: "ADD p50 <= 1.5x floor", Ratio: pf["add_p50"], Limit: 1.5},
		{What: "DEL p50 <= 1.0x bridge", Ratio: pb["del_p50"], Limit: 1.0},
		{What: "DEL p50 <= 1.5x floor", Ratio: pf["del_p50"], Limit: 1.5},
		{What: "burst wall <= 1.0x bridge, 0 failures, 0 duplicates", Ratio: pb["burst"], Limit: 1.0},
	}
	for i := range rep.Targets {
		t := &rep.Targets[i]
		t.Met = t.Ratio > 0 && t.Ratio <= t.Limit
		if i == len(rep.Targets)-1 {
			t.Met = t.Met && clean
		}
	}
}

func ratios(p, o *contenderResult) map[string]float64 {
	return map[string]float64{
		"add_p50": ratio(p.Add.P50Ms, o.Add.P50Ms),
		"del_p50": ratio(p.Del.P50Ms, o.Del.P50Ms),
		"burst":   ratio(p.Burst.WallMs, o.Burst.WallMs),
		// Not targets, for the README's discussion.
		"add_p99":   ratio(p.Add.P99Ms, o.Add.P99Ms),
		"del_p99":   ratio(p.Del.P99Ms, o.Del.P99Ms),
		"burst_add": ratio(p.Burst.AddWallMs, o.Burst.AddWallMs),
		"burst_del": ratio(p.Burst.DelWallMs, o.Burst.DelWallMs),
	}
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return float64(int(a/b*100+0.5)) / 100
}

func (rep *report) write(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

// printTable writes the human summary.
func printTable(w io.Writer, rep *report) {
	p, b, f := rep.Contenders["podnet"], rep.Contenders["bridge"], rep.Contenders["floor"]
	fmt.Fprintf(w, "\npodnet vs bridge+host-local vs floor: %d sequential ADD/DEL, %d x burst of %d, ipMasq=%v, %s\n",
		rep.Config.N, rep.Config.BurstRounds, rep.Config.Burst, rep.Config.IPMasq, rep.Config.Subnet)
	fmt.Fprintf(w, "machine: %d cores (%s), %.0f GiB, kernel %s, %s, %s\n",
		rep.Machine.Cores, rep.Machine.CPU, rep.Machine.MemoryGiB, rep.Machine.Kernel, rep.Machine.IPTables, rep.Machine.Go)
	var loads []string
	for _, l := range rep.Machine.LoadAvg {
		loads = append(loads, l.At+" "+strings.Join(strings.Fields(l.LoadAvg)[:3], "/"))
	}
	fmt.Fprintf(w, "load (1/5/15 min): %s\n", strings.Join(loads, ", "))
	var others []string
	for _, u := range rep.Machine.CPUUse {
		others = append(others, fmt.Sprintf("%s %.2f", u.Phase, u.OthersCores))
	}
	fmt.Fprintf(w, "cores of %d busy with other work: %s\n\n", rep.Machine.Cores, strings.Join(others, ", "))

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\tpodnet\tbridge\tfloor\tpodnet/bridge\tpodnet/floor\t")
	row := func(name string, get func(*contenderResult) float64, format string) {
		pv, bv, fv := get(p), get(b), get(f)
		fmt.Fprintf(tw, "%s\t"+format+"\t"+format+"\t"+format+"\t%.2fx\t%.2fx\t\n", name, pv, bv, fv, ratio(pv, bv), ratio(pv, fv))
	}
	count := func(name string, get func(*contenderResult) int) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t\t\t\n", name, get(p), get(b), get(f))
	}
	row("ADD p50 (ms)", func(r *contenderResult) float64 { return r.Add.P50Ms }, "%.2f")
	row("ADD p90 (ms)", func(r *contenderResult) float64 { return r.Add.P90Ms }, "%.2f")
	row("ADD p99 (ms)", func(r *contenderResult) float64 { return r.Add.P99Ms }, "%.2f")
	row("DEL p50 (ms)", func(r *contenderResult) float64 { return r.Del.P50Ms }, "%.2f")
	row("DEL p90 (ms)", func(r *contenderResult) float64 { return r.Del.P90Ms }, "%.2f")
	row("DEL p99 (ms)", func(r *contenderResult) float64 { return r.Del.P99Ms }, "%.2f")
	count("sequential failures", func(r *contenderResult) int { return r.Add.Failures + r.Del.Failures })
	row("burst ADD wall (ms)", func(r *contenderResult) float64 { return r.Burst.AddWallMs }, "%.0f")
	row("burst DEL wall (ms)", func(r *contenderResult) float64 { return r.Burst.DelWallMs }, "%.0f")
	row("burst wall (ms)", func(r *contenderResult) float64 { return r.Burst.WallMs }, "%.0f")
	count("burst failures", func(r *contenderResult) int { return r.Burst.Failures })
	count("burst duplicate IPs", func(r *contenderResult) int { return r.Burst.DuplicateIPs })
	row("peak RSS (MiB)", func(r *contenderResult) float64 { return r.PeakRSSMiB }, "%.1f")
	_ = tw.Flush()

	fmt.Fprintf(w, "\nburst wall = median over rounds of (ADD burst + DEL burst); peak RSS via bench/maxrss (baseline %d KiB)\n", rep.Config.RSSLauncherBaselineKiB)
	fmt.Fprintln(w, "targets:")
	for _, t := range rep.Targets {
		verdict := "MISSED"
		if t.Met {
			verdict = "met"
		}
		fmt.Fprintf(w, "  %-55s %5.2fx  %s\n", t.What, t.Ratio, verdict)
	}
	for _, name := range []string{"podnet", "bridge", "floor"} {
		for _, e := range rep.Contenders[name].Errors {
			fmt.Fprintf(w, "%s error: %s\n", name, e)
		}
	}
}

func describeMachine() machine {
	m := machine{Cores: runtime.NumCPU(), Go: runtime.Version(), Date: time.Now().UTC().Format(time.RFC3339)}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		m.Kernel = unix.ByteSliceToString(u.Release[:])
	}
	m.CPU = procField("/proc/cpuinfo", "model name")
	if out, err := exec.Command("iptables", "--version").Output(); err == nil {
		m.IPTables = strings.TrimSpace(string(out))
	}
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) == nil {
		m.MemoryGiB = float64(si.Totalram) * float64(si.Unit) / (1 << 30)
	}
	return m
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

func loadNow(at string) loadSample {
	data, _ := os.ReadFile("/proc/loadavg")
	return loadSample{At: at, LoadAvg: strings.TrimSpace(string(data))}
}
