package matrix

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/cnigate/cnigate/e2e/harness/nodenet"
	"github.com/cnigate/cnigate/e2e/harness/probe"
	"github.com/cnigate/cnigate/results"
)

// Data-path quality (docs/e2e.md, "Quality"): a cell that answers once is
// reachable, not fine. The Quality rows send a burst of UDP echoes (loss,
// RTT p50/p99) and measure TCP throughput of the pod path against the host
// path between the same nodes.

// QualityOptions are the Quality rows' knobs (part of Options).
type QualityOptions struct {
	// MaxLossPct: a burst that lost more than this share of its echoes fails.
	MaxLossPct    float64
	BurstCount    int
	BurstInterval time.Duration
	// MinThroughputRatio: pod path throughput over host path throughput
	// below this fails; autoRatio picks by mode (minRatio).
	MinThroughputRatio float64
	ThroughputDuration time.Duration
}

// defaultQuality: 50 echoes 20 ms apart (1 s) can tell 1% of loss (one
// echo lost fails); the throughput ratio depends on the mode (minRatio).
func defaultQuality() QualityOptions {
	return QualityOptions{MaxLossPct: 1, BurstCount: 50, BurstInterval: 20 * time.Millisecond,
		MinThroughputRatio: autoRatio, ThroughputDuration: time.Second}
}

const (
	// autoRatio: the minimum throughput ratio follows the mode.
	autoRatio = -1
	// gateRatio is k8s-netperf's: on a real cluster the NIC, not the CPU,
	// bounds both paths, and the pod path should lose at most 10%.
	gateRatio = 0.9
	// kindRatio: on kind both paths are veths on one host's CPUs; on the
	// project's shared 2-core VM one round's ratio ranged 0.32 to 5.73
	// (median 1.00, 40 rounds), so best of 3 rounds under 0.9 would fail
	// about one run in four with nothing wrong; under 0.5, about one in
	// 250, and a node dropping 5% of its packets still measures 0.11 to 0.29
	// (docs/measurements/2026-12-06-datapath-quality.md).
	kindRatio = 0.5
)

// minRatio is the throughput tolerance of a run: the option, or by mode.
func (q QualityOptions) minRatio(gate bool) float64 {
	switch {
	case q.MinThroughputRatio != autoRatio:
		return q.MinThroughputRatio
	case gate:
		return gateRatio
	}
	return kindRatio
}

func (q *QualityOptions) register(fs *flag.FlagSet, p func(string) string) {
	d := defaultQuality()
	fs.Float64Var(&q.MaxLossPct, p("max-loss-pct"), d.MaxLossPct, "a Quality burst cell fails when more than this % of its UDP echoes are lost")
	fs.IntVar(&q.BurstCount, p("burst-count"), d.BurstCount, "UDP echoes per Quality burst cell")
	fs.DurationVar(&q.BurstInterval, p("burst-interval"), d.BurstInterval, "time between two echoes of a burst")
	fs.Float64Var(&q.MinThroughputRatio, p("min-throughput-ratio"), d.MinThroughputRatio, "a throughput cell fails when pod -> pod TCP throughput is below this share of host -> host between the same nodes (0: report only; -1: 0.9 on an existing cluster as k8s-netperf, 0.5 on a kind cluster the harness made, whose two paths share one host's CPUs)")
	fs.DurationVar(&q.ThroughputDuration, p("throughput-duration"), d.ThroughputDuration, "how long each TCP throughput measurement reads (after a 200 ms warm-up)")
}

func (q *QualityOptions) validate() []error {
	var errs []error
	if !(q.MaxLossPct >= 0 && q.MaxLossPct < 100) {
		errs = append(errs, fmt.Errorf("max-loss-pct %v: want 0 to under 100", q.MaxLossPct))
	}
	if q.BurstCount < 10 || q.BurstCount > 10000 {
		errs = append(errs, fmt.Errorf("burst-count %d: want 10 to 10000 (fewer cannot measure 1%%)", q.BurstCount))
	}
	if q.BurstInterval < time.Millisecond || q.BurstInterval > time.Second {
		errs = append(errs, fmt.Errorf("burst-interval %v: want 1ms to 1s", q.BurstInterval))
	}
	if !(q.MinThroughputRatio >= 0 && q.MinThroughputRatio <= 2 || q.MinThroughputRatio == autoRatio) {
		errs = append(errs, fmt.Errorf("min-throughput-ratio %v: want 0 to 2 (0: report only), or -1 (by mode)", q.MinThroughputRatio))
	}
	if q.ThroughputDuration < 100*time.Millisecond || q.ThroughputDuration > 30*time.Second {
		errs = append(errs, fmt.Errorf("throughput-duration %v: want 100ms to 30s", q.ThroughputDuration))
	}
	return errs
}

const (
	gQuality = "Quality"
	// The hostNetwork helper pods' probe server (host -> host throughput).
	hostProbeHTTPPort = 18081
	hostProbeUDPPort  = 18001
	// throughputRounds: a throughput cell measures up to this many (host,
	// pod) rounds and keeps the best ratio: a neighbour's burst of CPU on a
	// shared machine lowers one round, a slow path lowers them all.
	throughputRounds = 3
)

// withQualityRows puts the Quality rows before the Health and Healing rows
// (Health checks the run so far; Healing changes the nodes and runs last).
func withQualityRows(rs []row) []row {
	for i, r := range rs {
		// before Health (which checks that nothing restarted during them too)
		// and Healing (which breaks the nodes)
		if r.group == gHealth || r.group == gHealing {
			return append(append(rs[:i:i], qualityRows()...), rs[i:]...)
		}
	}
	return append(rs, qualityRows()...)
}

func qualityRows() []row {
	burst := "a burst of UDP echoes loses at most -max-loss-pct (RTT p50/p99 reported)"
	return []row{
		{group: gQuality, name: "loss & RTT: pod -> pod, same node", what: burst, cells: pairs(true, burstCells(shellPod, toPodEcho))},
		{group: gQuality, name: "loss & RTT: pod -> pod, other node", what: burst, cells: pairs(false, burstCells(shellPod, toPodEcho))},
		{group: gQuality, name: "loss & RTT: pod -> Service, backend same node", what: burst, cells: pairs(true, burstCells(shellPod, toSvcEcho))},
		{group: gQuality, name: "loss & RTT: pod -> Service, backend other node", what: burst, cells: pairs(false, burstCells(shellPod, toSvcEcho))},
		{group: gQuality, name: "loss & RTT: node -> pod, same node", what: burst, cells: pairs(true, burstCells(hostnetPod, toPodEcho))},
		{group: gQuality, name: "loss & RTT: node -> pod, other node", what: burst, cells: pairs(false, burstCells(hostnetPod, toPodEcho))},
		// One at a time: throughput is CPU-bound, parallel cells would measure each other.
		{group: gQuality, name: "throughput: pod -> pod vs host -> host, same node", sequential: true, podIPs: true,
			what: "TCP throughput pod -> pod is at least -min-throughput-ratio of hostNetwork pod -> hostNetwork pod on the same node", cells: pairs(true, throughputCells)},
		{group: gQuality, name: "throughput: pod -> pod vs host -> host, other node", sequential: true, podIPs: true,
			what: "TCP throughput pod -> pod is at least -min-throughput-ratio of hostNetwork pod -> hostNetwork pod between the same nodes", cells: pairs(false, throughputCells)},
	}
}

// echoTarget names the echo server of b's web pod a burst goes to: the pod's
// own IP or its Service's ClusterIP, in family f.
type echoTarget func(s *suite, f ipFamily, b nodenet.NodeInfo) (to string, addr func(context.Context) (string, error))

func toPodEcho(s *suite, f ipFamily, b nodenet.NodeInfo) (string, func(context.Context) (string, error)) {
	web := webPod(s.short[b.Name])
	return web, podIPAddr(f, web, probeUDPPort)
}

func toSvcEcho(s *suite, f ipFamily, b nodenet.NodeInfo) (string, func(context.Context) (string, error)) {
	web := webPod(s.short[b.Name])
	return "svc/" + web, svcAddr(f, web, "udp", "")
}

// burstCells: a burst from a's pod (shell or hostnet, by source) to b's echo.
func burstCells(source func(short string) string, target echoTarget) cellsFor {
	return func(s *suite, f ipFamily, a, b nodenet.NodeInfo, _ map[string]*corev1.Pod) []cell {
		from := source(s.short[a.Name])
		to, addr := target(s, f, b)
		q := &results.Quality{}
		return []cell{{from: from, to: to, proto: "udp-burst", once: true, quality: q, check: burstCheck(from, addr, q)}}
	}
}

// burstCheck: the burst's loss is a verdict, so the cell is not retried
// (a retried burst passes a lossy path sooner or later); only a burst with
// no echo at all, the path not there yet, is tried again until the cell
// timeout, as every other cell's convergence.
func burstCheck(from string, addr func(context.Context) (string, error), q *results.Quality) check {
	return func(ctx context.Context) (time.Duration, string, error) {
		s := suiteFrom(ctx)
		o := s.opt.Quality
		deadline := time.Now().Add(s.opt.CellTimeout)
		for {
			a, err := addr(ctx)
			var out string
			if err == nil {
				out, err = execFrom(ctx, from, probe.Command("burst", a, "-count", fmt.Sprint(o.BurstCount), "-interval", o.BurstInterval.String())...)
			}
			var f map[string]string
			if err == nil {
				f, err = probe.ParseProbe(out)
			}
			if err == nil && f["received"] != "0" {
				return burstVerdict(f, o.MaxLossPct, q)
			}
			if err == nil {
				err = fmt.Errorf("no echo of %s datagrams from %s", f["sent"], a)
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				return 0, "", err
			}
			select {
			case <-ctx.Done():
			case <-time.After(2 * time.Second):
			}
		}
	}
}

// burstVerdict reads the probe's burst line into q and fails when the loss
// is above maxLoss.
func burstVerdict(f map[string]string, maxLoss float64, q *results.Quality) (time.Duration, string, error) {
	var errs []error
	num := func(k string) float64 {
		v, err := strconv.ParseFloat(f[k], 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("probe burst: field %s=%q: %w", k, f[k], err))
		}
		return v
	}
	sent, received, loss := int(num("sent")), int(num("received")), num("loss_pct")
	p50, p99 := time.Duration(num("p50_us"))*time.Microsecond, time.Duration(num("p99_us"))*time.Microsecond
	if err := errors.Join(errs...); err != nil {
		return 0, "", err
	}
	*q = results.Quality{Sent: sent, Received: received, LossPct: results.Float(loss), RTTP50MS: results.Ms(p50), RTTP99MS: results.Ms(p99)}
	detail := fmt.Sprintf("loss %.1f%% (%d/%d echoes), RTT p50 %s p99 %s", loss, received, sent, msStr(p50), msStr(p99))
	if loss > maxLoss {
		return p50, detail, fmt.Errorf("%s: loss above %.1f%%", detail, maxLoss)
	}
	return p50, detail, nil
}

func msStr(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

// throughputCells: TCP from b's web pod to a's shell pod, against b's
// hostNetwork probe to a's hostNetwork pod (same pair of nodes).
func throughputCells(s *suite, f ipFamily, a, b nodenet.NodeInfo, pods map[string]*corev1.Pod) []cell {
	from, web := shellPod(s.short[a.Name]), webPod(s.short[b.Name])
	podAddr := hostPort(podIP(f, pods, web), probeHTTPPort)
	hostAddr := hostPort(f.nodeIP(b), hostProbeHTTPPort)
	q := &results.Quality{}
	return []cell{{from: from, to: web, proto: "tcp-throughput", once: true, quality: q,
		check: throughputCheck(from, hostnetPod(s.short[a.Name]), podAddr, hostAddr, q)}}
}

// throughputCheck measures host -> host then pod -> pod, up to
// throughputRounds times, and keeps the best ratio. The rounds are the
// verdict (the cell is not retried); a stream that cannot start, the path
// not there yet, is tried again until the cell timeout.
func throughputCheck(podFrom, hostFrom, podAddr, hostAddr string, q *results.Quality) check {
	return func(ctx context.Context) (time.Duration, string, error) {
		s := suiteFrom(ctx)
		o := s.opt.Quality
		tolerance := o.minRatio(s.gate)
		deadline := time.Now().Add(s.opt.CellTimeout)
		var best results.Quality
		var rounds []string
		for len(rounds) < throughputRounds {
			host, err := measureMbps(ctx, hostFrom, hostAddr, o.ThroughputDuration)
			if err != nil {
				err = fmt.Errorf("host -> host %s: %w", hostAddr, err)
			}
			var pod float64
			if err == nil {
				if pod, err = measureMbps(ctx, podFrom, podAddr, o.ThroughputDuration); err != nil {
					err = fmt.Errorf("pod -> pod %s: %w", podAddr, err)
				}
			}
			if err != nil {
				if len(rounds) > 0 || time.Now().After(deadline) || ctx.Err() != nil {
					return 0, "", err
				}
				select {
				case <-ctx.Done():
				case <-time.After(2 * time.Second):
				}
				continue
			}
			ratio, err := throughputRatio(pod, host)
			if err != nil {
				return 0, "", err
			}
			rounds = append(rounds, fmt.Sprintf("%.0f/%.0f", pod, host))
			if best.Ratio == nil || ratio > *best.Ratio {
				best = results.Quality{PodMbps: results.Float(pod), HostMbps: results.Float(host), Ratio: results.Float(ratio)}
			}
			if ratio >= tolerance {
				break
			}
		}
		*q = best
		detail := fmt.Sprintf("pod %.0f Mbit/s, host %.0f Mbit/s: ratio %.2f (rounds pod/host %s)", *best.PodMbps, *best.HostMbps, *best.Ratio, strings.Join(rounds, " "))
		if *best.Ratio < tolerance {
			return 0, detail, fmt.Errorf("%s: below %.2f", detail, tolerance)
		}
		detail += fmt.Sprintf(", at least %.2f", tolerance)
		return 0, detail, nil
	}
}

// throughputRatio is pod over host; a host path that moved nothing is no
// baseline.
func throughputRatio(pod, host float64) (float64, error) {
	if host <= 0 || pod < 0 {
		return 0, fmt.Errorf("throughput pod %.1f, host %.1f Mbit/s: no baseline to compare with", pod, host)
	}
	return pod / host, nil
}

func measureMbps(ctx context.Context, from, addr string, d time.Duration) (float64, error) {
	out, err := execFrom(ctx, from, probe.Command("throughput", addr, "-duration", d.String())...)
	f, perr := probe.ParseProbe(out)
	if perr != nil {
		return 0, errors.Join(perr, err)
	}
	v, err := strconv.ParseFloat(f["mbps"], 64)
	if err != nil {
		return 0, fmt.Errorf("probe throughput: mbps=%q: %w", f["mbps"], err)
	}
	return v, nil
}

// hostProbeContainer serves the probe (stream, UDP echo) in a hostNetwork
// helper pod: the host -> host side of the throughput cells.
func hostProbeContainer(s *suite) corev1.Container {
	return corev1.Container{
		Name: "probe", Image: s.opt.Image, ImagePullPolicy: corev1.PullPolicy(s.opt.ImagePullPolicy),
		Command: []string{"probe", "serve", "-http", fmt.Sprintf(":%d", hostProbeHTTPPort), "-udp", fmt.Sprintf(":%d", hostProbeUDPPort)},
	}
}

// measured is a copy of what a cell's check measured (nil when nothing).
func measured(q *results.Quality) *results.Quality {
	if q == nil || *q == (results.Quality{}) {
		return nil
	}
	c := *q
	return &c
}
