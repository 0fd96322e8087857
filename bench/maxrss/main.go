package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
)

// prefix starts the line maxrss appends to stderr (the benchmark looks for it).
const prefix = "maxrss-kib="

func main() {
	path := os.Getenv("MAXRSS_EXEC")
	if path == "" {
		fmt.Fprintln(os.Stderr, "maxrss: MAXRSS_EXEC is not set")
		os.Exit(2)
	}
	cmd := exec.Command(path)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MAXRSS_EXEC=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		fmt.Fprintln(os.Stderr, "maxrss:", err)
		os.Exit(2)
	}
	fmt.Fprintf(os.Stderr, "\n%s%d\n", prefix, cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss)
	os.Exit(cmd.ProcessState.ExitCode())
}
