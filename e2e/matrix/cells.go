package matrix

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cnigate/cnigate/e2e/harness/nodenet"
	"github.com/cnigate/cnigate/e2e/harness/probe"
	"github.com/cnigate/cnigate/results"
)

// cell is one named check of the matrix: from -> to over proto.
type cell struct {
	from, to, proto string
	// family is the pass's family on a dual-stack cluster ("" otherwise).
	family string
	// skip, when set, is the reason the cell is not run.
	skip string
	// once: the check runs one attempt, never retried (it changes the
	// cluster and measures the result itself: the healing cells).
	once bool
	// check runs one attempt; it returns the measured latency (0 if none),
	// a detail for the report, and an error when the attempt failed.
	check func(ctx context.Context) (time.Duration, string, error)
	// quality, when set, is where check leaves what it measured (quality.go).
	quality *results.Quality
}

func (c cell) name() string {
	if c.family != "" {
		return fmt.Sprintf("%s/%s:%s->%s", c.proto, c.family, c.from, c.to)
	}
	return fmt.Sprintf("%s:%s->%s", c.proto, c.from, c.to)
}

// runCells runs each cell of the pass of family f as a parallel subtest of t, retrying a failing cell
// until -e2e.cell-timeout has passed (a deadline for convergence, not a speed
// assertion), records it in the matrix and fails the subtest naming the cell.
func runCells(ctx context.Context, t *testing.T, f ipFamily, behaviour string, cells []cell) {
	t.Helper()
	s := suiteFrom(ctx)
	for _, c := range cells {
		if c.family == "" {
			c.family = s.label(f)
		}
		t.Run(c.name(), func(t *testing.T) {
			t.Parallel()
			rec := results.Cell{Behaviour: behaviour, Name: c.name(), From: c.from, To: c.to, Protocol: c.proto}
			if c.skip == "" && !s.sel.cell(rowFrom(ctx), behaviour, c.name()) {
				c.skip = "not selected by --test " + s.opt.Tests.String()
			}
			if c.skip != "" {
				rec.Result, rec.Detail = results.Skip, c.skip
				s.matrix.Add(rec)
				t.Skipf("cell %s [%s]: skipped: %s", c.name(), behaviour, c.skip)
			}
			deadline := time.Now().Add(s.opt.CellTimeout)
			var err error
			var latency time.Duration
			for {
				rec.Attempts++
				latency, rec.Detail, err = c.check(ctx)
				rec.SetLatency(latency)
				rec.Quality = measured(c.quality)
				if err == nil || c.once || time.Now().After(deadline) || ctx.Err() != nil {
					break
				}
				select {
				case <-ctx.Done():
				case <-time.After(2 * time.Second):
				}
			}
			if err != nil && ctx.Err() != nil { // Ctrl-C or the suite deadline: not a verdict on podnet
				rec.Result, rec.Detail = results.Skip, "interrupted: "+ctx.Err().Error()
				s.matrix.Add(rec)
				t.Skipf("cell %s [%s]: %s", c.name(), behaviour, rec.Detail)
			}
			if err != nil {
				rec.Result, rec.Detail = results.Fail, err.Error()
				s.matrix.Add(rec)
				t.Errorf("cell %s [%s] FAILED after %d attempts: %v", c.name(), behaviour, rec.Attempts, err)
				return
			}
			rec.Result = results.Pass
			s.matrix.Add(rec)
			t.Logf("cell %s: pass (%s) %s", c.name(), latency, rec.Detail)
		})
	}
}

// execIn runs cmd in a test pod's container and returns its stdout; a
// non-zero exit is an error that carries stderr.
func execIn(ctx context.Context, pod string, cmd ...string) (string, error) {
	s := suiteFrom(ctx)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	err := s.client.Resources().ExecInPod(ctx, s.namespace, pod, containerName, cmd, &stdout, &stderr)
	if err != nil {
		return stdout.String(), fmt.Errorf("exec in %s %q: %w: %s", pod, strings.Join(cmd, " "), err, strings.TrimSpace(stderr.String()+" "+stdout.String()))
	}
	return stdout.String(), nil
}

// externalFrom is the cell source that means the external host (a docker
// container, not a pod).
const externalFrom = "external"

// execFrom runs cmd in a test pod, or in the external host for externalFrom.
func execFrom(ctx context.Context, from string, cmd ...string) (string, error) {
	if from != externalFrom {
		return execIn(ctx, from, cmd...)
	}
	s := suiteFrom(ctx)
	if s.external == nil {
		return "", fmt.Errorf("no external host")
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return nodenet.Docker(ctx, append([]string{"exec", s.external.Name}, cmd...)...)
}

// pingCheck: ICMP echo from pod to ip.
func pingCheck(pod, ip string) func(context.Context) (time.Duration, string, error) {
	return func(ctx context.Context) (time.Duration, string, error) {
		out, err := execFrom(ctx, pod, probe.PingCommand(ip)...)
		r, perr := probe.ParsePing(out)
		if perr != nil {
			if err != nil && r.Sent == 0 { // no statistics: the exec error says more
				return 0, "", err
			}
			return 0, "", fmt.Errorf("ping %s: %w", ip, perr)
		}
		return r.AvgRTT, fmt.Sprintf("%d/%d replies", r.Received, r.Sent), nil
	}
}

// httpCheck: HTTP GET of /cgi-bin/ip from pod; wantSource, if set, is the
// source address the server must have seen (the pod's own IP across the pod
// network, the node's IP through NAT).
func httpCheck(pod, hostPort string, wantSource func() (string, error)) func(context.Context) (time.Duration, string, error) {
	return func(ctx context.Context) (time.Duration, string, error) {
		out, err := execFrom(ctx, pod, probe.HTTPCommand("http://"+hostPort+"/cgi-bin/ip")...)
		r, perr := probe.ParseHTTP(out)
		if perr != nil {
			if err != nil && !strings.Contains(out, "rc=") {
				return 0, "", err
			}
			return 0, "", fmt.Errorf("GET %s: %w", hostPort, perr)
		}
		seen := probe.SourceIP(r.Body)
		detail := "server saw " + seen
		if wantSource != nil {
			want, err := wantSource()
			if err != nil {
				return 0, "", err
			}
			if seen != want {
				return r.Elapsed, detail, fmt.Errorf("server saw source %s, want %s", seen, want)
			}
		}
		return r.Elapsed, detail, nil
	}
}

// DefaultParallel is how many cells run at once for a matrix on workers
// workers: 2 per worker, at least 4. A cell mostly waits on an exec round
// trip through the API server, so more than the cores pays. The e2e test
// binary and cnigate e2e use it unless -test.parallel / --parallel is given.
func DefaultParallel(workers int) int { return max(4, 2*workers) }
