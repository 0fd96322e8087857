package main

import (
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/containernetworking/cni/pkg/skel"
)

// op records one plugin invocation for the optional log file: one line per
// operation, never on stdout (stdout belongs to the CNI result).
type op struct {
	logFile string
	command string
	args    *skel.CmdArgs
	start   time.Time
	ips     []net.IP // the pod's addresses, one per family
	notes   []string
}

func startOp(n *NetConf, command string, args *skel.CmdArgs) *op {
	return &op{logFile: n.LogFile, command: command, args: args, start: time.Now()}
}

// note adds detail to the log line.
func (o *op) note(format string, a ...any) { o.notes = append(o.notes, fmt.Sprintf(format, a...)) }

// warn is a note that must be seen even without a log file, such as a failed
// rollback step (something may be left behind): it also goes to stderr, which
// runtimes log; stdout belongs to the result.
func (o *op) warn(format string, a ...any) {
	o.note(format, a...)
	fmt.Fprintf(os.Stderr, "podnet: %s %s/%s: %s\n", o.command, orDash(o.args.ContainerID), orDash(o.args.IfName), fmt.Sprintf(format, a...))
}

func (o *op) finish(err error) {
	if o.logFile == "" {
		return
	}
	outcome := "ok"
	if err != nil {
		outcome = "error: " + err.Error()
	}
	ip := "-"
	if len(o.ips) > 0 {
		text := make([]string, len(o.ips))
		for i, addr := range o.ips {
			text[i] = addr.String()
		}
		ip = strings.Join(text, ",")
	}
	line := fmt.Sprintf("%s %s container=%s ifname=%s ip=%s duration=%s outcome=%q",
		time.Now().UTC().Format(time.RFC3339Nano), o.command, orDash(o.args.ContainerID), orDash(o.args.IfName),
		ip, time.Since(o.start).Round(time.Microsecond), outcome)
	if len(o.notes) > 0 {
		line += fmt.Sprintf(" notes=%q", strings.Join(o.notes, "; "))
	}
	// One write of a whole line with O_APPEND keeps concurrent lines intact.
	f, ferr := os.OpenFile(o.logFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if ferr == nil {
		_, ferr = f.WriteString(line + "\n")
		ferr = joinClose(ferr, f)
	}
	if ferr != nil {
		fmt.Fprintf(os.Stderr, "podnet: cannot write log %s: %v\n", o.logFile, ferr)
	}
}

func joinClose(err error, f *os.File) error {
	if cerr := f.Close(); err == nil {
		return cerr
	}
	return err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
