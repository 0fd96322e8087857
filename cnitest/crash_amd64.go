package cnitest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/containernetworking/plugins/pkg/ns"
	"golang.org/x/sys/unix"
)

// stateChangingSyscalls are the amd64 system calls through which a plugin
// changes files, the kernel's network state (netlink messages) or starts
// helpers: the points where a crash can leave something half done.
var stateChangingSyscalls = map[uint64]string{
	unix.SYS_WRITE: "write", unix.SYS_WRITEV: "writev", unix.SYS_PWRITE64: "pwrite64",
	unix.SYS_SENDTO: "sendto", unix.SYS_SENDMSG: "sendmsg",
	unix.SYS_OPEN: "open", unix.SYS_OPENAT: "openat", unix.SYS_CREAT: "creat",
	unix.SYS_MKDIR: "mkdir", unix.SYS_MKDIRAT: "mkdirat",
	unix.SYS_UNLINK: "unlink", unix.SYS_UNLINKAT: "unlinkat",
	unix.SYS_LINK: "link", unix.SYS_LINKAT: "linkat", unix.SYS_SYMLINKAT: "symlinkat",
	unix.SYS_RENAME: "rename", unix.SYS_RENAMEAT: "renameat", unix.SYS_RENAMEAT2: "renameat2",
	unix.SYS_FCHMOD: "fchmod", unix.SYS_FCHMODAT: "fchmodat", unix.SYS_FTRUNCATE: "ftruncate",
	unix.SYS_FLOCK: "flock",
	// Not clone: the Go runtime starts threads when it likes, which would
	// shift the count from run to run. A helper (iptables) is started
	// after pipes and /dev/null are opened, which are counted.
}

// RunKilledAtSyscall runs the plugin inside hostNS under ptrace and, when
// it is about to make its n-th state-changing system call (n from 1),
// kills its whole process group with SIGKILL, so the call never happens:
// the state left is exactly that of a crash just before that step. killed
// is false when the plugin finished with fewer than n such calls; at is
// the name of the call it was killed before.
func (p Plugin) RunKilledAtSyscall(ctx context.Context, hostNS ns.NetNS, inv Invocation, n int) (resp Response, killed bool, at string, err error) {
	stdinR, stdinW, err := os.Pipe()
	if err != nil {
		return resp, false, "", err
	}
	stdoutR, stdoutW, err := os.Pipe()
	if err != nil {
		return resp, false, "", err
	}
	stderrR, stderrW, err := os.Pipe()
	if err != nil {
		return resp, false, "", err
	}
	var stdout, stderr bytes.Buffer
	copied := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(&stdout, stdoutR); copied <- struct{}{} }()
	go func() { _, _ = io.Copy(&stderr, stderrR); copied <- struct{}{} }()
	go func() { _, _ = stdinW.Write(inv.Config); _ = stdinW.Close() }()

	var status unix.WaitStatus
	err = hostNS.Do(func(ns.NetNS) error {
		// ptrace requests must come from the thread that started the
		// tracee: ns.Do keeps this goroutine on one locked thread.
		pid, err := syscall.ForkExec(p.Path, []string{p.Path}, &syscall.ProcAttr{
			Env:   inv.environ(p),
			Files: []uintptr{stdinR.Fd(), stdoutW.Fd(), stderrW.Fd()},
			Sys:   &syscall.SysProcAttr{Ptrace: true, Setpgid: true},
		})
		if err != nil {
			return fmt.Errorf("starting %s: %w", p.Path, err)
		}
		status, killed, at, err = traceUntil(ctx, pid, n)
		return err
	})
	_ = stdinR.Close()
	_ = stdoutW.Close()
	_ = stderrW.Close()
	<-copied
	<-copied
	_ = stdoutR.Close()
	_ = stderrR.Close()
	resp = Response{Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}
	if err != nil {
		return resp, killed, at, err
	}
	switch {
	case status.Exited():
		resp.ExitCode = status.ExitStatus()
	case status.Signaled():
		resp.ExitCode = -1
	}
	return resp, killed, at, nil
}

// traceUntil follows every thread of pid from its first stop (after execve)
// to its end, counting state-changing syscall entries, and kills the
// process group at the n-th. It returns pid's final wait status.
func traceUntil(ctx context.Context, pid, n int) (final unix.WaitStatus, killed bool, at string, err error) {
	kill := func() { _ = unix.Kill(-pid, unix.SIGKILL) }
	var ws unix.WaitStatus
	if _, err := unix.Wait4(pid, &ws, unix.WALL, nil); err != nil {
		kill()
		return ws, false, "", fmt.Errorf("waiting for the plugin's exec stop: %w", err)
	}
	if err := unix.PtraceSetOptions(pid, unix.PTRACE_O_TRACESYSGOOD|unix.PTRACE_O_TRACECLONE|unix.PTRACE_O_EXITKILL); err != nil {
		kill()
		return ws, false, "", fmt.Errorf("ptrace options: %w", err)
	}
	if err := unix.PtraceSyscall(pid, 0); err != nil {
		kill()
		return ws, false, "", err
	}
	count := 0
	for {
		if ctx.Err() != nil && !killed {
			kill()
			killed = true
		}
		tid, err := unix.Wait4(-1, &ws, unix.WALL, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return final, killed, at, fmt.Errorf("waiting for the plugin: %w", err)
		}
		if ws.Exited() || ws.Signaled() {
			if tid == pid {
				return ws, killed, at, nil
			}
			continue
		}
		if !ws.Stopped() {
			continue
		}
		resume := 0
		switch sig := ws.StopSignal(); sig {
		case unix.SIGTRAP | 0x80: // syscall entry or exit
			var regs unix.PtraceRegs
			if err := unix.PtraceGetRegs(tid, &regs); err == nil && int64(regs.Rax) == -int64(unix.ENOSYS) && !killed {
				// Entry (the kernel sets rax to -ENOSYS before the call runs).
				if name, ok := stateChangingSyscalls[regs.Orig_rax]; ok {
					count++
					if count == n {
						kill()
						killed, at = true, name
					}
				}
			}
		case unix.SIGTRAP: // a ptrace event (a new thread): nothing to deliver
		case unix.SIGSTOP: // a new thread's first stop
		default:
			resume = int(sig) // a real signal (the Go runtime's SIGURG): deliver it
		}
		_ = unix.PtraceSyscall(tid, resume)
	}
}
