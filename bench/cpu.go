package bench

import (
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cnigate/cnigate/results"
)

// The load average counts the benchmark's own processes (a burst alone adds
// ~200), so it cannot tell how busy the rest of the machine was. The CPU
// accounting below can: what the whole machine spent (/proc/stat) minus what
// the benchmark and every process it waited for spent (rusage of self and
// children) is what everything else used, kernel workers included (some of
// which, such as netns teardown, the benchmark causes).

// cpuSample is the machine's and the benchmark's CPU time at one instant.
type cpuSample struct {
	at                time.Time
	busy, steal, idle time.Duration // whole machine, all cores
	bench             time.Duration // this process and its waited-for children
}

func sampleCPU() cpuSample {
	s := cpuSample{at: time.Now()}
	if data, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(data), "\n")
		f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal guest guest_nice
		tick := func(i int) time.Duration {
			if i >= len(f) {
				return 0
			}
			v, _ := strconv.ParseInt(f[i], 10, 64)
			return time.Duration(v) * time.Second / 100 // USER_HZ
		}
		s.busy = tick(1) + tick(2) + tick(3) + tick(6) + tick(7)
		s.idle = tick(4) + tick(5)
		s.steal = tick(8)
	}
	for _, who := range []int{unix.RUSAGE_SELF, unix.RUSAGE_CHILDREN} {
		var ru unix.Rusage
		if unix.Getrusage(who, &ru) == nil {
			s.bench += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		}
	}
	return s
}

func cpuBetween(phase, loadavg string, a, b cpuSample) results.PhaseCPU {
	wall := b.at.Sub(a.at)
	if wall <= 0 {
		return results.PhaseCPU{Phase: phase}
	}
	cores := func(d time.Duration) float64 { return float64(int(float64(d)/float64(wall)*100+0.5)) / 100 }
	bench := b.bench - a.bench
	return results.PhaseCPU{
		Phase: phase, Seconds: float64(wall.Milliseconds()) / 1000, LoadAvg: loadavg,
		BenchCores:  cores(bench),
		OthersCores: cores(max(b.busy-a.busy-bench, 0)),
		StealCores:  cores(b.steal - a.steal),
		IdleCores:   cores(b.idle - a.idle),
	}
}
