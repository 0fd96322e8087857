// Command runc-shim runs the real runc after removing, from the OCI spec it is
// given, every capability that is missing from this host's capability bounding
// set.
//
// Why: on some VMs root itself lacks a capability (CAP_SYS_RESOURCE, seen as
// CapBnd 000001fffeffffff). Docker 20.10 grants a privileged container every
// capability it knows, runc cannot raise one that is not in the bounding set,
// and every `docker run --privileged` (so every kind node) fails with
// "unable to apply caps: operation not permitted". ci/ensure-docker.sh installs
// this shim as Docker's default runtime only when a probe shows that failure.
//
// It edits the bundle's config.json for `create` and `run`, and the --process
// file (and --cap flags) for `exec`, then execs the real runc with the
// arguments unchanged otherwise. On a host whose bounding set is complete it
// changes nothing.
package main

import (
	"fmt"
	"os"
	"syscall"
)

// realRunc is the runc binary to exec; set with -ldflags "-X main.realRunc=...".
var realRunc = "/usr/sbin/runc"

func main() {
	args := os.Args[1:]
	if missing, err := missingCaps(); err != nil {
		warn("cannot read the bounding set, passing through: %v", err)
	} else if len(missing) > 0 {
		args = fixInvocation(args, missing)
	}
	err := syscall.Exec(realRunc, append([]string{"runc"}, args...), os.Environ())
	warn("exec %s: %v", realRunc, err)
	os.Exit(127)
}

func warn(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "runc-shim: "+format+"\n", a...)
}
