package report

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cnigate/cnigate/results"
)

// BenchView is the bench laid out for the page.
type BenchView struct {
	Order    []string `json:"order"`
	Baseline string   `json:"baseline"`
	// Rows is the table: a label, a value per contender, then a ratio per
	// non-baseline contender over the baseline.
	Header  []string              `json:"header"`
	Rows    [][]string            `json:"rows"`
	Targets []results.BenchTarget `json:"targets,omitempty"`
	// Samples are the sequential latencies per contender, for the CDFs.
	AddSamples map[string][]float64 `json:"-"`
	DelSamples map[string][]float64 `json:"-"`
	// Bursts are the median ADD and DEL burst wall times per contender (nil
	// when the run had no burst phase).
	BurstAddMs map[string]float64 `json:"-"`
	BurstDelMs map[string]float64 `json:"-"`
	// Gate is the verdict of a gate run.
	Gate *results.BenchGate `json:"gate,omitempty"`
}

// FromBench turns a bench run into a report: one case per contender (a
// clean run: no failure, duplicate address or leftover), the targets as notes.
func FromBench(in *results.Bench) *Report {
	r := &Report{Kind: "bench", Title: "cnigate bench: " + strings.Join(in.Order, " vs ")}
	m := in.Machine
	r.Facts = []Fact{
		{"date", m.Date},
		{"machine", fmt.Sprintf("%d cores (%s), %.0f GiB, kernel %s", m.Cores, m.CPU, m.MemoryGiB, m.Kernel)},
		{"tools", strings.TrimSpace(m.Go + ", " + m.IPTables)},
		{"runs", fmt.Sprintf("%d sequential ADD/DEL, %d x burst of %d, cniVersion %s, subnet %s", in.Config.N, in.Config.BurstRounds, in.Config.Burst, in.Config.CNIVersion, in.Config.Subnet)},
		{"baseline", in.Baseline},
	}
	var loads, busy []string
	for _, l := range m.LoadAvg {
		if f := strings.Fields(l.LoadAvg); len(f) >= 3 {
			loads = append(loads, l.At+" "+strings.Join(f[:3], "/"))
		}
	}
	for _, u := range m.CPUUse {
		busy = append(busy, fmt.Sprintf("%s %.2f", u.Phase, u.OthersCores))
	}
	r.Facts = append(r.Facts, Fact{"load (1/5/15 min)", strings.Join(loads, ", ")},
		Fact{fmt.Sprintf("cores of %d busy with other work", m.Cores), strings.Join(busy, ", ")})

	v := &BenchView{Order: in.Order, Baseline: in.Baseline, Targets: in.Targets,
		AddSamples: map[string][]float64{}, DelSamples: map[string][]float64{},
		BurstAddMs: map[string]float64{}, BurstDelMs: map[string]float64{}}
	others := slices.DeleteFunc(slices.Clone(in.Order), func(n string) bool { return n == in.Baseline })
	v.Header = append([]string{""}, in.Order...)
	for _, o := range others {
		v.Header = append(v.Header, o+"/"+in.Baseline)
	}
	base := in.Contenders[in.Baseline]
	row := func(label string, get func(*results.BenchContender) float64, format func(float64) string) {
		cells := []string{label}
		for _, n := range in.Order {
			cells = append(cells, format(get(in.Contenders[n])))
		}
		for _, o := range others {
			cells = append(cells, ratioText(get(in.Contenders[o]), get(base)))
		}
		v.Rows = append(v.Rows, cells)
	}
	count := func(label string, get func(*results.BenchContender) int) {
		cells := []string{label}
		for _, n := range in.Order {
			cells = append(cells, fmt.Sprint(get(in.Contenders[n])))
		}
		for range others {
			cells = append(cells, "")
		}
		v.Rows = append(v.Rows, cells)
	}
	fixed0 := func(x float64) string { return fmt.Sprintf("%.0f", x) }
	row("ADD p50 (ms)", func(c *results.BenchContender) float64 { return c.Add.P50Ms }, ms)
	row("ADD p90 (ms)", func(c *results.BenchContender) float64 { return c.Add.P90Ms }, ms)
	row("ADD p99 (ms)", func(c *results.BenchContender) float64 { return c.Add.P99Ms }, ms)
	row("DEL p50 (ms)", func(c *results.BenchContender) float64 { return c.Del.P50Ms }, ms)
	row("DEL p90 (ms)", func(c *results.BenchContender) float64 { return c.Del.P90Ms }, ms)
	row("DEL p99 (ms)", func(c *results.BenchContender) float64 { return c.Del.P99Ms }, ms)
	if in.Config.BurstSkipped == "" {
		row("burst ADD wall (ms)", func(c *results.BenchContender) float64 { return c.Burst.AddWallMs }, fixed0)
		row("burst DEL wall (ms)", func(c *results.BenchContender) float64 { return c.Burst.DelWallMs }, fixed0)
		row("burst wall (ms)", func(c *results.BenchContender) float64 { return c.Burst.WallMs }, fixed0)
	} else {
		r.Notes = append(r.Notes, "burst not measured: "+in.Config.BurstSkipped)
		v.BurstAddMs, v.BurstDelMs = nil, nil
	}
	count("failures", func(c *results.BenchContender) int { return c.Failures })
	count("duplicate IPs", func(c *results.BenchContender) int { return c.DuplicateIPs })
	if in.Config.RSSRuns > 0 {
		row("peak RSS (MiB)", func(c *results.BenchContender) float64 { return c.PeakRSSMiB }, func(x float64) string { return fmt.Sprintf("%.1f", x) })
	} else if in.Config.MemorySkipped != "" {
		r.Notes = append(r.Notes, "peak RSS not measured: "+in.Config.MemorySkipped)
	}
	for _, n := range in.Order {
		c := in.Contenders[n]
		v.AddSamples[n], v.DelSamples[n] = c.Add.SamplesMs, c.Del.SamplesMs
		if v.BurstAddMs != nil {
			v.BurstAddMs[n], v.BurstDelMs[n] = c.Burst.AddWallMs, c.Burst.DelWallMs
		}
		kase := Case{Suite: "bench", Name: n + ": clean run", Result: results.Pass,
			Detail: fmt.Sprintf("ADD p50 %s ms, DEL p50 %s ms, burst %0.f ms", ms(c.Add.P50Ms), ms(c.Del.P50Ms), c.Burst.WallMs)}
		var faults []string
		add := func(what string, k int) {
			if k > 0 {
				faults = append(faults, fmt.Sprintf("%d %s", k, what))
			}
		}
		add("failed processes", c.Add.Failures+c.Del.Failures+c.Burst.Failures)
		add("duplicate IPs", c.Add.DuplicateIPs+c.Burst.DuplicateIPs)
		add("pods left unconfigured", c.Add.Unconfigured+c.Burst.Unconfigured)
		add("ADD results not matching the pod", c.Add.BadResults+c.Burst.BadResults)
		add("interfaces (or, preloaded, reservations) left behind by DEL", c.Del.Leftovers+c.Burst.Leftovers)
		if len(faults) > 0 {
			kase.Result = results.Fail
			kase.Detail = strings.Join(append(faults, c.Errors...), "; ")
		}
		r.Cases = append(r.Cases, kase)
	}
	if g := in.Gate; g != nil {
		v.Gate = g
		r.Facts = append(r.Facts, Fact{"gate", fmt.Sprintf("is %s (%s) slower than %s (%s) by more than %.0f%%? %s",
			g.Candidate, in.Contenders[g.Candidate].Binary, g.Baseline, in.Contenders[g.Baseline].Binary, g.Tolerance*100, g.Method)})
		kase := Case{Suite: "gate", Name: fmt.Sprintf("gate: %s within %.0f%% of %s", g.Candidate, g.Tolerance*100, g.Baseline), Result: results.Pass}
		var lines []string
		for _, m := range g.Metrics {
			lines = append(lines, m.Text(g))
		}
		kase.Detail = strings.Join(lines, "\n")
		if g.Regression {
			kase.Result = results.Fail
			kase.Detail = "REGRESSION: " + kase.Detail
		}
		r.Cases = append(r.Cases, kase)
	}
	r.Bench = v
	return r
}

// targetLines are the targets and the gate's verdict as text, for the
// Markdown and JUnit formats.
func (v *BenchView) targetLines() []string {
	var out []string
	if g := v.Gate; g != nil {
		out = append(out, fmt.Sprintf("gate verdict: %s (%s vs %s, tolerance %.0f%%)", g.Verdict, g.Candidate, g.Baseline, g.Tolerance*100))
		for _, m := range g.Metrics {
			out = append(out, "gate "+m.Text(g))
		}
	}
	for _, t := range v.Targets {
		verdict := "met"
		if !t.Met {
			verdict = "MISSED"
		}
		out = append(out, fmt.Sprintf("target %s: %.2fx, %s", t.What, t.Ratio, verdict))
	}
	return out
}

func ratioText(a, b float64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", a/b)
}
