//go:build podnet_trace

package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cnigate/cnigate/plugin/ipam"
)

// traceFile is where a podnet_trace build appends its phase lines unless
// PODNET_TRACE names another file: set with -ldflags "-X main.traceFile=PATH"
// for runners (the bench, a runtime) that hand the plugin only CNI variables.
var traceFile string

// A podnet_trace build (never a release) appends, per invocation, one line
// per phase to PODNET_TRACE (or traceFile):
//
//	<COMMAND> <pid> <phase> <wall µs> <cpu µs>
//
// cpu is the process's CPU time (every thread, CLOCK_PROCESS_CPUTIME_ID)
// spent in the phase: unlike wall time it does not grow when other processes
// take the cores. The first phase, "premain", is the CPU time from exec to
// main (the Go runtime and every package's init; its wall time is not known
// inside the process and is written as -1). The lines of one invocation are
// written in one O_APPEND write, so concurrent invocations do not interleave.
func init() {
	path := os.Getenv("PODNET_TRACE")
	if path == "" {
		path = traceFile
	}
	if path == "" {
		return
	}
	t := &phaseLog{path: path, command: os.Getenv("CNI_COMMAND"), pid: os.Getpid(), wall: time.Now(), cpu: processCPU()}
	fmt.Fprintf(&t.lines, "%s %d premain -1 %d\n", t.command, t.pid, t.cpu.Microseconds())
	phases = phaseTracer{mark: t.mark, done: t.done}
	ipam.TraceHook = t.mark
}

type phaseLog struct {
	path    string
	command string
	pid     int
	wall    time.Time     // the previous mark
	cpu     time.Duration // the process CPU time at the previous mark
	lines   strings.Builder
}

func processCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_PROCESS_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

func (t *phaseLog) mark(phase string) {
	now, cpu := time.Now(), processCPU()
	fmt.Fprintf(&t.lines, "%s %d %s %d %d\n", t.command, t.pid, strings.ReplaceAll(phase, " ", "-"),
		now.Sub(t.wall).Microseconds(), (cpu - t.cpu).Microseconds())
	t.wall, t.cpu = now, cpu
}

func (t *phaseLog) done(err error) {
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	t.mark("exit-" + outcome)
	f, ferr := os.OpenFile(t.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if ferr == nil {
		_, ferr = f.WriteString(t.lines.String())
		ferr = joinClose(ferr, f)
	}
	if ferr != nil {
		fmt.Fprintf(os.Stderr, "podnet: cannot write trace %s: %v\n", t.path, ferr)
	}
}
