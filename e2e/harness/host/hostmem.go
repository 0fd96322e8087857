package host

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Host memory of a kind run: the nodes are containers on this host, so the
// cluster's memory is the host's used memory (MemTotal - MemAvailable, what
// `free` calls used plus what the kernel cannot reclaim), sampled while the
// suite runs.

// MemInfoPath is the kernel's memory summary.
const MemInfoPath = "/proc/meminfo"

// ParseMemUsed returns MemTotal - MemAvailable, in bytes, from /proc/meminfo
// text ("Name:   value kB" lines).
func ParseMemUsed(r io.Reader) (uint64, error) {
	var total, avail uint64
	var haveTotal, haveAvail bool
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || (name != "MemTotal" && name != "MemAvailable") {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("meminfo %s: want \"<n> kB\", got %q", name, strings.TrimSpace(rest))
		}
		kb, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("meminfo %s: %w", name, err)
		}
		if name == "MemTotal" {
			total, haveTotal = kb*1024, true
		} else {
			avail, haveAvail = kb*1024, true
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	if !haveTotal || !haveAvail {
		return 0, errors.New("meminfo: no MemTotal or no MemAvailable line (kernel older than 3.14?)")
	}
	if avail > total {
		return 0, fmt.Errorf("meminfo: MemAvailable %d kB > MemTotal %d kB", avail/1024, total/1024)
	}
	return total - avail, nil
}

// MemPeak tracks the first and the largest of a series of used-memory
// samples, safe for concurrent use.
type MemPeak struct {
	mu          sync.Mutex
	start, peak uint64
	samples     int
	err         error // the first read error, if any
}

// Observe records one sample, in bytes.
func (p *MemPeak) Observe(used uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.samples == 0 {
		p.start = used
	}
	p.peak = max(p.peak, used)
	p.samples++
}

// MemPeakStats are the figures of a finished series.
type MemPeakStats struct {
	Start, Peak uint64 // bytes
	Samples     int
	Err         error // the first sample that could not be read
}

// Rise is how far the peak went over the start.
func (s MemPeakStats) Rise() uint64 { return s.Peak - s.Start }

// Stats returns the series so far.
func (p *MemPeak) Stats() MemPeakStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return MemPeakStats{Start: p.start, Peak: p.peak, Samples: p.samples, Err: p.err}
}

func (p *MemPeak) fail(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err == nil {
		p.err = err
	}
}

// SampleHostMemory samples the host's used memory now and then every
// interval until stop is called (or ctx ends); stop returns the figures.
func SampleHostMemory(ctx context.Context, interval time.Duration) (stop func() MemPeakStats) {
	p := &MemPeak{}
	sample := func() {
		f, err := os.Open(MemInfoPath)
		if err != nil {
			p.fail(err)
			return
		}
		defer func() { _ = f.Close() }()
		used, err := ParseMemUsed(f)
		if err != nil {
			p.fail(err)
			return
		}
		p.Observe(used)
	}
	sample()
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				sample()
			}
		}
	}()
	var once sync.Once
	return func() MemPeakStats {
		once.Do(func() {
			cancel()
			<-done
			sample() // the end of the run counts too
		})
		return p.Stats()
	}
}

// MiB renders bytes as whole mebibytes.
func MiB(b uint64) string { return strconv.FormatUint((b+512*1024)/(1024*1024), 10) }
