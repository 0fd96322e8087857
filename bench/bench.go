package bench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/containernetworking/cni/pkg/version"

	"github.com/cnigate/cnigate/cnitest"
	"github.com/cnigate/cnigate/results"
)

// Options are the run's parameters; Defaults gives those of make bench.
type Options struct {
	// N sequential ADDs (then as many DELs) per contender.
	N int
	// Burst concurrent ADDs (then DELs) per burst, BurstRounds bursts per
	// contender (the median round is reported).
	Burst, BurstRounds int
	// RSSRuns ADDs and DELs per contender measured for peak RSS through the
	// MaxRSS launcher (bench/maxrss); with no launcher the phase is skipped.
	RSSRuns int
	MaxRSS  string
	// Network is the cluster pod network, Subnet the node's, shared by the pods.
	Network, Subnet string
	MTU             int
	// IPMasq, when set, overrides "ipMasq" in every contender's config.
	IPMasq *bool
	// Timeout limits one plugin process.
	Timeout time.Duration
	// State is where the contenders' data dirs live unless their table
	// entry says otherwise: StateTmpfs (the default), a tmpfs the run
	// mounts, or StateHost, $TMPDIR's filesystem (see state.go).
	State string
	// Settle is how long after the previous bench's cleanup on this
	// machine (the modification time of Marker, default cleanedMarker())
	// a run waits before it starts; see settleAfterPrevious.
	Settle time.Duration
	Marker string
	// Gate, when set, judges its candidate against the table's baseline from
	// the sequential phase (see GateOptions).
	Gate *GateOptions
	// Log receives progress lines (default: stderr with a timestamp).
	Log func(format string, a ...any)
}

// Defaults are make bench's options.
func Defaults() Options {
	return Options{
		N: 200, Burst: 200, BurstRounds: 5, RSSRuns: 5,
		Network: "10.99.0.0/16", Subnet: "10.99.1.0/24", MTU: 1500, Timeout: 2 * time.Minute,
		State: StateTmpfs, Settle: 370 * time.Second,
	}
}

func stderrLog(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "[%s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, a...))
}

// Run measures every contender of table and returns the figures. It needs
// root: it creates network namespaces. Everything it creates is removed before
// it returns, also when ctx is cancelled.
func Run(ctx context.Context, table Table, o Options) (rep *results.Bench, err error) {
	if o.Log == nil {
		o.Log = stderrLog
	}
	if err := table.Validate(); err != nil {
		return nil, err
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("the benchmark creates network namespaces and must run as root")
	}
	_, subnet, err := net.ParseCIDR(o.Subnet)
	if err != nil {
		return nil, fmt.Errorf("subnet: %w", err)
	}
	if o.N < 1 || o.Burst < 1 || o.BurstRounds < 0 || o.RSSRuns < 0 {
		return nil, errors.New("n and burst must be at least 1, burst-rounds and rss-runs at least 0")
	}
	o.State = cmp.Or(o.State, StateTmpfs)
	if !slices.Contains(validStates, o.State) {
		return nil, fmt.Errorf("state %q: want one of %v", o.State, validStates)
	}
	if o.Settle < 0 {
		return nil, fmt.Errorf("settle %s: must be 0 (no wait) or more", o.Settle)
	}
	if o.Marker == "" {
		o.Marker = cleanedMarker()
	}
	if g := o.Gate; g != nil {
		if err := g.Validate(table); err != nil {
			return nil, err
		}
	}
	if o.MaxRSS == "" {
		o.RSSRuns = 0
	}

	specs, err := specsOf(table, o, subnet)
	if err != nil {
		return nil, err
	}
	onHost := slices.ContainsFunc(specs, func(s spec) bool { return s.state == StateHost })
	if onHost {
		if err := settleAfterPrevious(ctx, o.Marker, o.Settle, time.Now(), o.Log); err != nil {
			return nil, err
		}
	}
	rep = &results.Bench{Machine: describeMachine(), Config: configOf(o), Baseline: table.Baseline}
	if o.RSSRuns == 0 {
		rep.Config.MemorySkipped = "no maxrss launcher given (bench/maxrss)"
	}
	if o.BurstRounds == 0 {
		rep.Config.BurstSkipped = "burst-rounds 0"
	}
	rep.Machine.LoadAvg = append(rep.Machine.LoadAvg, loadNow("start"))
	o.Log("machine: %d cores, kernel %s, %s; load %s", rep.Machine.Cores, rep.Machine.Kernel, rep.Machine.CPU, rep.Machine.LoadAvg[0].LoadAvg)

	dirs, err := newStateDirs(specs)
	if err != nil {
		return nil, err
	}
	// The run's state is its default, or, when every contender overrides
	// it, the first one's: the table names the others.
	runState := o.State
	if !slices.ContainsFunc(specs, func(s spec) bool { return s.state == o.State }) {
		runState = specs[0].state
	}
	rep.Config.State = dirs.describe(runState)
	namespaces := cnitest.NewNamespaces()
	var contenders []*contender
	defer func() {
		o.Log("cleanup: deleting %d contenders' netns and %s", len(contenders), dirs.host)
		for _, c := range contenders {
			err = errors.Join(err, c.close(namespaces))
		}
		if left := namespaces.Leftovers(); len(left) > 0 {
			err = errors.Join(err, fmt.Errorf("netns left behind: %v", left))
		}
		err = errors.Join(err, dirs.remove())
		if onHost {
			// Best effort: a missing marker only means the next run does not wait.
			_ = os.WriteFile(o.Marker, []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644)
		}
	}()

	pods := max(o.N, o.Burst, o.RSSRuns)
	for _, s := range specs {
		where := dirs.describe(s.state)
		o.Log("setup %s: host netns, %d pod netns, data dir on %s", s.name, pods, where)
		c, err := newContender(s, namespaces, dirs.dir(s.state, s.name), pods)
		if c != nil {
			c.res.State = where
			contenders = append(contenders, c)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.name, err)
		}
		if p := s.preload; p != nil {
			if c.preloaded, err = c.writePreload(ctx, o.Timeout); err != nil {
				return nil, fmt.Errorf("%s: %w", s.name, err)
			}
			o.Log("preload %s: %d reservations written as %s in %s; podnet's GC kept all and every index entry", s.name, p.Reservations, p.Format, c.subnet)
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}

	b := &bench{o: o, contenders: contenders, rep: rep, orders: williamsOrders(len(contenders))}
	phases := []struct {
		name string
		f    func(context.Context) error
	}{
		{"warm-up", b.warmUp},
		{"sequential", b.sequential},
	}
	if o.BurstRounds > 0 {
		phases = append(phases, struct {
			name string
			f    func(context.Context) error
		}{"burst", b.bursts})
	}
	if o.RSSRuns > 0 {
		phases = append(phases, struct {
			name string
			f    func(context.Context) error
		}{"memory", b.memory})
	}
	for _, p := range phases {
		rep.Machine.LoadAvg = append(rep.Machine.LoadAvg, loadNow(p.name))
		load := rep.Machine.LoadAvg[len(rep.Machine.LoadAvg)-1].LoadAvg
		o.Log("=== %s (load %s)", p.name, load)
		before := sampleCPU()
		if err := p.f(ctx); err != nil {
			return nil, fmt.Errorf("%s: %w", p.name, err)
		}
		use := cpuBetween(p.name, load, before, sampleCPU())
		rep.Machine.CPUUse = append(rep.Machine.CPUUse, use)
		o.Log("%s took %.0fs; cores used by the bench %.2f, by everything else %.2f, stolen %.2f, idle %.2f",
			p.name, use.Seconds, use.BenchCores, use.OthersCores, use.StealCores, use.IdleCores)
	}
	rep.Machine.LoadAvg = append(rep.Machine.LoadAvg, loadNow("end"))
	finish(rep, contenders)
	if g := o.Gate; g != nil {
		byName := map[string]*contender{}
		for _, c := range contenders {
			byName[c.name] = c
		}
		rep.Gate = g.gate(table.Baseline, byName[g.Candidate], byName[table.Baseline])
		for _, m := range rep.Gate.Metrics {
			o.Log("gate %s vs %s: %s", g.Candidate, table.Baseline, m.Text(rep.Gate))
		}
	}
	return rep, nil
}

func configOf(o Options) results.BenchConfig {
	c := results.BenchConfig{
		N: o.N, Burst: o.Burst, BurstRounds: o.BurstRounds, RSSRuns: o.RSSRuns,
		Network: o.Network, Subnet: o.Subnet, MTU: o.MTU, Bridge: bridgeName,
		CNIVersion: version.Current(),
	}
	if o.IPMasq != nil {
		c.IPMasq = o.IPMasq
	}
	return c
}

// cleanedMarker is the file whose modification time says when the last
// bench on this machine removed its files.
func cleanedMarker() string { return filepath.Join(os.TempDir(), "cnigate-bench.cleaned") }

// settleAfterPrevious waits, when a contender keeps its data dir on the
// host's filesystem, until settle has passed since the previous bench's
// cleanup there (marker's modification time; never longer than settle), so
// that a run measures the machine as it is, not as its predecessor left it:
// that cleanup, and that contender's own DELs before it, unlinked its
// files (every pod's reservations: thousands in a run), and on ext4 without
// a journal the inode allocator skips, reading each one's inode table
// block, every free inode deleted less than 60 s ago, or 360 s while that
// block is dirty (fs/ext4/ialloc.c, recently_deleted), which the next run's
// own files keep it; so every file made in that window costs a scan. Runs
// started right after another, or 70 s after, measured identical podnet
// contenders 1.22-1.26x apart and podnet 1.18-1.27x the floor instead of
// 1.02-1.07x (docs/measurements/2026-12-07-bench-order.md). The default,
// 370 s, outlasts the longest window. No marker, or an older one, means no
// wait.
func settleAfterPrevious(ctx context.Context, marker string, settle time.Duration, now time.Time, log func(string, ...any)) error {
	fi, err := os.Stat(marker)
	if err != nil || settle <= 0 {
		return nil
	}
	wait := min(fi.ModTime().Add(settle).Sub(now), settle) // a marker from the future waits settle at most
	if wait <= 0 {
		return nil
	}
	log("waiting %.0fs: the previous bench removed its files at %s, and new files cost more for a while after many deletions (-settle %s)",
		wait.Seconds(), fi.ModTime().UTC().Format("15:04:05"), settle)
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
