package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// config is what the wrapper's file name says.
type config struct {
	target   string // the real plugin, next to the wrapper
	delay    time.Duration
	spin     bool // burn delay of CPU time instead of sleeping
	commands []string
}

// parseName reads NAME+DURATION[@CMD,...] from the wrapper's path.
func parseName(self string) (config, error) {
	base := filepath.Base(self)
	name, rest, ok := strings.Cut(base, "+")
	spin := false
	if i := strings.IndexByte(base, '%'); i >= 0 && (!ok || i < len(name)) {
		name, rest, ok, spin = base[:i], base[i+1:], true, true
	}
	if !ok || name == "" {
		return config{}, fmt.Errorf("file name %q is not NAME+DURATION[@CMD,...] or NAME%%DURATION[@CMD,...]", base)
	}
	dur, cmds, hasCmds := strings.Cut(rest, "@")
	delay, err := time.ParseDuration(dur)
	if err != nil || delay < 0 {
		return config{}, fmt.Errorf("file name %q: duration %q is not a non-negative Go duration", base, dur)
	}
	c := config{target: filepath.Join(filepath.Dir(self), name), delay: delay, spin: spin, commands: []string{"ADD"}}
	if hasCmds {
		c.commands = strings.Split(cmds, ",")
	}
	return c, nil
}

func main() {
	c, err := parseName(os.Args[0])
	if err == nil {
		if slices.Contains(c.commands, os.Getenv("CNI_COMMAND")) {
			if c.spin {
				burnCPU(c.delay)
			} else {
				time.Sleep(c.delay)
			}
		}
		err = unix.Exec(c.target, append([]string{c.target}, os.Args[1:]...), os.Environ())
		err = fmt.Errorf("exec %s: %w", c.target, err)
	}
	msg, _ := json.Marshal(map[string]any{"cniVersion": "1.0.0", "code": 999, "msg": "slowdown: " + err.Error()})
	fmt.Println(string(msg))
	os.Exit(1)
}

// burnCPU spins until this process has used d more CPU time (every thread:
// CLOCK_PROCESS_CPUTIME_ID), however long the machine's load makes that.
func burnCPU(d time.Duration) {
	now := func() time.Duration {
		var ts unix.Timespec
		_ = unix.ClockGettime(unix.CLOCK_PROCESS_CPUTIME_ID, &ts)
		return time.Duration(ts.Nano())
	}
	for end := now() + d; now() < end; {
	}
}
