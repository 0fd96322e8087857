//go:build !amd64

package cnitest

import (
	"context"
	"fmt"
	"runtime"

	"github.com/containernetworking/plugins/pkg/ns"
)

// RunKilledAtSyscall needs the amd64 syscall table; elsewhere it says so.
func (p Plugin) RunKilledAtSyscall(context.Context, ns.NetNS, Invocation, int) (Response, bool, string, error) {
	return Response{}, false, "", fmt.Errorf("killing at a syscall is implemented for amd64 only, not %s", runtime.GOARCH)
}
