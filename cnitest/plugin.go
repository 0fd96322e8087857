package cnitest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"syscall"
	"time"

	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/cni/pkg/version"
	"github.com/containernetworking/plugins/pkg/ns"
)

// Plugin is a CNI plugin binary under test.
type Plugin struct {
	// Path is the plugin executable.
	Path string
	// CNIPath is the CNI_PATH handed to it (where it finds delegated plugins
	// such as an IPAM plugin).
	CNIPath string
}

// NewPlugin checks that path is an executable and returns the plugin, with
// CNIPath defaulting to the binary's directory.
func NewPlugin(path, cniPath string) (Plugin, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return Plugin{}, err
	}
	st, err := os.Stat(abs)
	if err != nil {
		return Plugin{}, fmt.Errorf("plugin binary: %w", err)
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		return Plugin{}, fmt.Errorf("plugin binary %s is not an executable file", abs)
	}
	if cniPath == "" {
		cniPath = filepath.Dir(abs)
	}
	return Plugin{Path: abs, CNIPath: cniPath}, nil
}

// Invocation is one call of the plugin. Env, when set, replaces the CNI
// variables derived from the other fields (to test missing or bad ones).
type Invocation struct {
	Command     string
	ContainerID string
	NetNS       string
	IfName      string
	Config      []byte
	Env         []string
}

// Env is a plugin process's CNI variables by name.
type Env map[string]string

// CNIEnv is the one way this kit builds a plugin's CNI environment: the
// variables a runtime sets for inv, with CNI_PATH cniPath. Callers that test
// missing or bad variables start from it and change one.
func (inv Invocation) CNIEnv(cniPath string) Env {
	return Env{
		"CNI_COMMAND":     inv.Command,
		"CNI_CONTAINERID": inv.ContainerID,
		"CNI_NETNS":       inv.NetNS,
		"CNI_IFNAME":      inv.IfName,
		"CNI_PATH":        cniPath,
	}
}

// List is the environment as KEY=value lines, sorted so runs are repeatable.
func (e Env) List() []string {
	out := make([]string, 0, len(e))
	for k, v := range e {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

func (inv Invocation) environ(p Plugin) []string {
	env := []string{"PATH=" + os.Getenv("PATH")} // iptables and friends
	if inv.Env != nil {
		return append(env, inv.Env...)
	}
	return append(env, inv.CNIEnv(p.CNIPath).List()...)
}

// Response is what the plugin process did.
type Response struct {
	Stdout, Stderr []byte
	ExitCode       int
	Duration       time.Duration
	// CPU is the CPU time (user + system) of the process and the children it
	// waited for, as wait4 reports it: unlike Duration it does not grow when
	// other work takes the cores.
	CPU time.Duration
	// MaxRSSKiB is the process's peak resident set as the kernel reports it.
	// Go starts children with vfork, so it includes the starting process's
	// own RSS at that moment: an upper bound, good for catching a plugin
	// that reads hundreds of MiB, not a measurement.
	MaxRSSKiB int64
}

// Failed reports a non-zero exit.
func (r Response) Failed() bool { return r.ExitCode != 0 }

func (r Response) String() string {
	return fmt.Sprintf("exit %d\nstdout: %s\nstderr: %s", r.ExitCode, r.Stdout, r.Stderr)
}

// Error decodes the CNI error the plugin printed on stdout.
func (r Response) Error() (*types.Error, error) {
	var e types.Error
	if err := json.Unmarshal(r.Stdout, &e); err != nil {
		return nil, fmt.Errorf("stdout is not a CNI error: %w (%s)", err, r.Stdout)
	}
	if e.Code == 0 || e.Msg == "" {
		return nil, fmt.Errorf("stdout lacks an error code or message: %s", r.Stdout)
	}
	return &e, nil
}

// Result decodes the ADD result, checks it is in the requested version and
// returns it converted to the current version.
func (r Response) Result(requested string) (*current.Result, error) {
	var head struct {
		CNIVersion string `json:"cniVersion"`
	}
	if err := json.Unmarshal(r.Stdout, &head); err != nil {
		return nil, fmt.Errorf("stdout is not JSON: %w (%s)", err, r.Stdout)
	}
	if head.CNIVersion != requested {
		return nil, fmt.Errorf("result cniVersion %q, requested %q", head.CNIVersion, requested)
	}
	res, err := version.NewResult(head.CNIVersion, r.Stdout)
	if err != nil {
		return nil, err
	}
	return current.NewResultFromResult(res)
}

// command is the plugin process of inv, as a runtime starts it: the CNI
// environment, the config on stdin, stdout and stderr captured.
func (p Plugin) command(ctx context.Context, inv Invocation) (cmd *exec.Cmd, stdout, stderr *bytes.Buffer) {
	cmd = exec.CommandContext(ctx, p.Path)
	cmd.Env = inv.environ(p)
	cmd.Stdin = bytes.NewReader(inv.Config)
	stdout, stderr = new(bytes.Buffer), new(bytes.Buffer)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	return cmd, stdout, stderr
}

// Run executes the plugin inside hostNS (nil: the caller's netns) and waits
// for it. A non-zero exit is not an error; failing to run at all is.
func (p Plugin) Run(ctx context.Context, hostNS ns.NetNS, inv Invocation) (Response, error) {
	cmd, stdout, stderr := p.command(ctx, inv)

	run := func(ns.NetNS) error {
		// ns.Do has locked this goroutine to a thread in hostNS, and the
		// child is forked from that thread, so it starts in hostNS.
		return cmd.Run()
	}
	start := time.Now()
	var err error
	if hostNS == nil {
		err = run(nil)
	} else {
		err = hostNS.Do(run)
	}
	resp := Response{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), Duration: time.Since(start)}
	if cmd.ProcessState != nil {
		resp.CPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			resp.MaxRSSKiB = ru.Maxrss
		}
	}
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		resp.ExitCode = exitErr.ExitCode()
	case err != nil:
		return resp, fmt.Errorf("running %s %s: %w", p.Path, inv.Command, err)
	}
	return resp, nil
}

// RunKilledAfter starts the plugin inside hostNS like Run, sends it SIGKILL
// after delay (as a crashing runtime, an OOM kill or a node reboot would)
// and waits for it. killed is false when the plugin exited before the
// signal.
func (p Plugin) RunKilledAfter(ctx context.Context, hostNS ns.NetNS, inv Invocation, delay time.Duration) (resp Response, killed bool, err error) {
	cmd, stdout, stderr := p.command(ctx, inv)
	// Its own process group, so the kill takes the helpers it started
	// (host-local, iptables) with it, as a crash of the node would.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 10 * time.Second
	if err := hostNS.Do(func(ns.NetNS) error { return cmd.Start() }); err != nil {
		return Response{}, false, fmt.Errorf("starting %s %s: %w", p.Path, inv.Command, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	timer := time.NewTimer(delay)
	defer timer.Stop()
	select {
	case err = <-exited:
	case <-timer.C:
		killed = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) == nil
		err = <-exited
	}
	resp = Response{Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		resp.ExitCode = exitErr.ExitCode()
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok {
			killed = killed && ws.Signaled() && ws.Signal() == syscall.SIGKILL
		}
	case err != nil:
		return resp, killed, fmt.Errorf("running %s %s: %w", p.Path, inv.Command, err)
	default:
		killed = false
	}
	return resp, killed, nil
}

// Versions asks the plugin which spec versions it supports.
func (p Plugin) Versions(ctx context.Context) ([]string, error) {
	resp, err := p.Run(ctx, nil, Invocation{Command: "VERSION", Config: []byte(`{"cniVersion":"` + version.Current() + `"}`)})
	if err != nil {
		return nil, err
	}
	if resp.Failed() {
		return nil, fmt.Errorf("VERSION failed: %s", resp)
	}
	info, err := (&version.PluginDecoder{}).Decode(resp.Stdout)
	if err != nil {
		return nil, fmt.Errorf("VERSION answer: %w", err)
	}
	return info.SupportedVersions(), nil
}
