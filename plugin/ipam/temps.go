package ipam

import (
	"errors"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// deadWritersTemp reports whether name is a temporary file ".<record>-<pid>"
// of a process that no longer exists. Podnet versions before WriteFile took
// the lock wrote its records (bridge.pinned, rules.verified) through such
// per-process names, which a kill left behind for good. A live process's
// file is its write in progress and stays. (The pid is looked up in the
// caller's pid namespace, where the runtime starts every podnet of a node.)
func deadWritersTemp(name string) bool {
	rest, ok := strings.CutPrefix(name, ".")
	if !ok {
		return false
	}
	i := strings.LastIndexByte(rest, '-')
	if i <= 0 {
		return false
	}
	pid, err := strconv.Atoi(rest[i+1:])
	if err != nil || pid <= 0 || strconv.Itoa(pid) != rest[i+1:] {
		return false
	}
	return errors.Is(unix.Kill(pid, 0), unix.ESRCH)
}
