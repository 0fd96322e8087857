package bench

import (
	"context"
	"fmt"
	"math"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cnigate/cnigate/cnitest"
	"github.com/cnigate/cnigate/results"
)

// bench runs the phases over the contenders.
type bench struct {
	o          Options
	contenders []*contender
	rep        *results.Bench
	orders     [][]int // williamsOrders(len(contenders))
}

// stepOrder is the contenders in the order of step i. The orders are the
// rows of a Williams design (williamsOrders): over each cycle of rows every
// contender goes first, in the middle and last equally often and, within a
// step, follows every other contender equally often (across the boundary
// between two steps, the last of one and the first of the next, it does
// not). A plain rotation gave each contender the same predecessor at every
// step.
func (b *bench) stepOrder(i int) []*contender {
	row := b.orders[i%len(b.orders)]
	out := make([]*contender, len(row))
	for k, j := range row {
		out[k] = b.contenders[j]
	}
	return out
}

// williamsOrders is a Williams design for n treatments: n rows for an even
// n, 2n for an odd one, each a permutation of 0..n-1, in which every
// treatment takes every position equally often and immediately follows
// every other treatment equally often (first-order carry-over balance).
func williamsOrders(n int) [][]int {
	if n <= 0 {
		return [][]int{{}}
	}
	// First row: 0, 1, n-1, 2, n-2, ...
	first := make([]int, n)
	lo, hi := 1, n-1
	for k := 1; k < n; k++ {
		if k%2 == 1 {
			first[k] = lo
			lo++
		} else {
			first[k] = hi
			hi--
		}
	}
	var rows [][]int
	for i := range n {
		row := make([]int, n)
		for k, t := range first {
			row[k] = (t + i) % n
		}
		rows = append(rows, row)
	}
	if n%2 == 1 {
		for i := range n {
			row := slices.Clone(rows[i])
			slices.Reverse(row)
			rows = append(rows, row)
		}
	}
	return rows
}

// note records a failed command of c (the first few messages are kept).
func (c *contender) note(what string, resp cnitest.Response) {
	if len(c.res.Errors) >= 5 {
		return
	}
	msg := strings.TrimSpace(string(resp.Stdout) + " " + string(resp.Stderr))
	c.res.Errors = append(c.res.Errors, fmt.Sprintf("%s: exit %d: %.300s", what, resp.ExitCode, msg))
}

// warmUp runs one untimed ADD and DEL per contender: the node's first ADD
// (bridge, rules) is not what the sequential figures are about.
func (b *bench) warmUp(ctx context.Context) error {
	for _, c := range b.contenders {
		for _, cmd := range []string{"ADD", "DEL"} {
			resp, err := c.run(ctx, b.o.Timeout, c.invocation(cmd, 0, "warmup"))
			if err != nil {
				return err
			}
			if resp.Failed() {
				return fmt.Errorf("%s warm-up %s failed: %s", c.name, cmd, resp)
			}
		}
	}
	return nil
}

// sequential runs N ADDs, one pod after the other, then N DELs.
func (b *bench) sequential(ctx context.Context) error {
	for _, cmd := range []string{"ADD", "DEL"} {
		for i := range b.o.N {
			for _, c := range b.stepOrder(i) {
				resp, err := c.run(ctx, b.o.Timeout, c.invocation(cmd, i, fmt.Sprint("seq-", i)))
				if err != nil {
					return err
				}
				l, tm := c.res.Latency(cmd), c.timing(cmd)
				if cmd == "ADD" {
					c.addResps = append(c.addResps, resp)
				}
				if resp.Failed() {
					l.Failures++
					tm.rounds, tm.cpuRounds = append(tm.rounds, 0), append(tm.cpuRounds, 0)
					c.note("sequential "+cmd, resp)
					continue
				}
				tm.durations = append(tm.durations, resp.Duration)
				tm.rounds, tm.cpuRounds = append(tm.rounds, resp.Duration), append(tm.cpuRounds, resp.CPU)
			}
			if done := i + 1; done%50 == 0 || done == b.o.N {
				var parts []string
				for _, c := range b.contenders {
					parts = append(parts, fmt.Sprintf("%s p50 %.2fms (%d failed)", c.name, ms(percentile(c.timing(cmd).durations, 50)), c.res.Latency(cmd).Failures))
				}
				b.o.Log("sequential %s %d/%d: %s", cmd, done, b.o.N, strings.Join(parts, ", "))
			}
		}
		for _, c := range b.contenders {
			if cmd == "ADD" {
				chk, err := c.checkAddresses(b.o.N, c.addResps, c.preloaded)
				if err != nil {
					return err
				}
				c.res.Add.DuplicateIPs, c.res.Add.Unconfigured, c.res.Add.BadResults = chk.Duplicates, chk.Unconfigured, chk.BadResults
			} else {
				var err error
				if c.res.Del.Leftovers, err = c.allLeftovers(); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// burstOnce starts n processes of cmd at once and returns the wall time from
// the start signal to the last exit.
func (c *contender) burstOnce(ctx context.Context, timeout time.Duration, cmd, idPrefix string, n int) (time.Duration, []cnitest.Response, error) {
	resps := make([]cnitest.Response, n)
	errs := make([]error, n)
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		inv := c.invocation(cmd, i, fmt.Sprint(idPrefix, i))
		ready.Add(1)
		done.Go(func() {
			ready.Done()
			<-start
			resps[i], errs[i] = c.run(ctx, timeout, inv)
		})
	}
	ready.Wait()
	t0 := time.Now()
	close(start)
	done.Wait()
	wall := time.Since(t0)
	for _, err := range errs {
		if err != nil {
			return wall, resps, err
		}
	}
	return wall, resps, nil
}

// bursts runs -burst-rounds rounds; in each, every contender (in its step
// order) takes a burst of ADDs and then a burst of DELs.
func (b *bench) bursts(ctx context.Context) error {
	for r := range b.o.BurstRounds {
		for _, c := range b.stepOrder(r) {
			round, err := b.burstRound(ctx, c, r)
			if err != nil {
				return fmt.Errorf("%s: %w", c.name, err)
			}
			c.res.Burst.Rounds = append(c.res.Burst.Rounds, round)
			b.o.Log("burst %d/%d %s: %d ADDs in %.0fms (%d failed, %d duplicate IPs, %d unconfigured), %d DELs in %.0fms (%d failed, %d left behind)",
				r+1, b.o.BurstRounds, c.name, b.o.Burst, round.AddWallMs, round.AddFailures, round.DuplicateIPs, round.Unconfigured,
				b.o.Burst, round.DelWallMs, round.DelFailures, round.Leftovers)
		}
	}
	return nil
}

func (b *bench) burstRound(ctx context.Context, c *contender, r int) (results.BenchBurstRound, error) {
	var round results.BenchBurstRound
	prefix := fmt.Sprintf("burst%d-", r)
	wall, resps, err := c.burstOnce(ctx, b.o.Timeout, "ADD", prefix, b.o.Burst)
	if err != nil {
		return round, err
	}
	round.AddWallMs, round.AddCPUMs = ms(wall), ms(cpuOf(resps))
	for _, resp := range resps {
		if resp.Failed() {
			round.AddFailures++
			c.note("burst ADD", resp)
		}
	}
	chk, err := c.checkAddresses(b.o.Burst, resps, c.preloaded)
	if err != nil {
		return round, err
	}
	round.DuplicateIPs, round.Unconfigured, round.BadResults = chk.Duplicates, chk.Unconfigured, chk.BadResults
	// A failed ADD leaves no address, so it is not counted twice.
	round.Unconfigured -= round.AddFailures

	wall, resps, err = c.burstOnce(ctx, b.o.Timeout, "DEL", prefix, b.o.Burst)
	if err != nil {
		return round, err
	}
	round.DelWallMs, round.DelCPUMs = ms(wall), ms(cpuOf(resps))
	for _, resp := range resps {
		if resp.Failed() {
			round.DelFailures++
			c.note("burst DEL", resp)
		}
	}
	round.Leftovers, err = c.allLeftovers()
	return round, err
}

// memory runs -rss-runs ADDs and then as many DELs per contender through the
// maxrss launcher, interleaved, and keeps the largest ru_maxrss of each.
func (b *bench) memory(ctx context.Context) error {
	baseline, err := launcherBaseline(ctx, b.contenders[0].maxrss)
	if err != nil {
		return err
	}
	b.rep.Config.RSSLauncherBaselineKiB = baseline
	for _, cmd := range []string{"ADD", "DEL"} {
		for i := range b.o.RSSRuns {
			for _, c := range b.stepOrder(i) {
				resp, kib, err := c.runMaxRSS(ctx, b.o.Timeout, c.invocation(cmd, i, fmt.Sprint("rss-", i)))
				if err != nil {
					return fmt.Errorf("%s %s: %w", c.name, cmd, err)
				}
				if resp.Failed() {
					c.note("memory "+cmd, resp)
					continue
				}
				if cmd == "ADD" {
					c.res.RSS.AddKiB = max(c.res.RSS.AddKiB, kib)
				} else {
					c.res.RSS.DelKiB = max(c.res.RSS.DelKiB, kib)
				}
			}
		}
	}
	var parts []string
	for _, c := range b.contenders {
		parts = append(parts, fmt.Sprintf("%s ADD %d KiB DEL %d KiB", c.name, c.res.RSS.AddKiB, c.res.RSS.DelKiB))
	}
	b.o.Log("peak RSS over %d runs each (launcher baseline %d KiB): %s", b.o.RSSRuns, baseline, strings.Join(parts, ", "))
	return nil
}

// launcherBaseline is what maxrss reports for /bin/true: the least it can
// report for anything, as the child's ru_maxrss starts at the launcher's RSS.
func launcherBaseline(ctx context.Context, launcher string) (int64, error) {
	cmd := exec.CommandContext(ctx, launcher)
	cmd.Env = []string{"MAXRSS_EXEC=/bin/true"}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("maxrss /bin/true: %w (%s)", err, stderr.String())
	}
	return parseMaxRSS([]byte(stderr.String()))
}

// percentile is the nearest-rank p-th percentile of ds (0 when empty).
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[min(max(rank, 0), len(s)-1)]
}

// cpuOf is the CPU time of a burst's processes together.
func cpuOf(resps []cnitest.Response) time.Duration {
	var sum time.Duration
	for _, r := range resps {
		sum += r.CPU
	}
	return sum
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
