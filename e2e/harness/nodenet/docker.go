package nodenet

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
)

// Docker runs the docker CLI. The suite only ever talks to containers it
// created (kind nodes, the external host). Its stdout is returned also on
// failure (what a command run by `docker exec` printed before failing).
func Docker(ctx context.Context, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return strings.TrimSpace(stdout.String()), fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}

// DockerAvailable reports whether a docker daemon answers.
func DockerAvailable(ctx context.Context) bool {
	if _, err := exec.LookPath("docker"); err != nil {
		return false
	}
	_, err := Docker(ctx, "info", "--format", "{{.ServerVersion}}")
	return err == nil
}

// ContainerPID returns the host pid of a running container's init process.
func ContainerPID(ctx context.Context, name string) (int, error) {
	out, err := Docker(ctx, "inspect", "--format", "{{.State.Pid}}", name)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(out)
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("container %s: no running pid (%q)", name, out)
	}
	return pid, nil
}

// NetNSPath is the path of a container's network namespace, from its pid.
func NetNSPath(pid int) string { return fmt.Sprintf("/proc/%d/ns/net", pid) }
