package harness

import (
	"fmt"
	"net/netip"
	"path"
	"strings"
)

// Reservation is one podnet IPAM reservation file: <dataDir>/<network>/<IP>
// holding "<containerID>\n<ifname>\n". The harness is black-box and must not
// import podnet, so it re-implements this piece of the store format from its
// specification, docs/podnet.md#ipam-store-format-version-1: a change there changes this file too.
type Reservation struct {
	IP          string
	ContainerID string
	IfName      string
}

// ListReservationsCommand prints every file of the reservation directory dir
// as "@@ <name>" followed by its content. Run it in the hostNetwork helper pod,
// which mounts the node's data dir read-only. A missing dir lists nothing.
func ListReservationsCommand(dir string) []string {
	return []string{"sh", "-c", `d=$1; [ -d "$d" ] || exit 0; for f in "$d"/*; do [ -f "$f" ] || continue; echo "@@ ${f##*/}"; cat "$f"; echo; done`, "sh", dir}
}

// ReservationDir is where the helper pod sees a network's reservations, the
// node's data dir being mounted at mountPoint.
func ReservationDir(mountPoint, network string) string { return path.Join(mountPoint, network) }

// ParseReservations parses ListReservationsCommand output. Files whose names
// are not IP addresses (lock, last_reserved_ip.0, ...) are not reservations and
// are left out. Malformed reservation files are errors.
func ParseReservations(out string) ([]Reservation, error) {
	var res []Reservation
	for _, chunk := range strings.Split("\n"+out, "\n@@ ")[1:] {
		name, content, _ := strings.Cut(chunk, "\n")
		name = strings.TrimSpace(name)
		addr, err := netip.ParseAddr(name)
		if err != nil {
			continue
		}
		var lines []string
		for _, l := range strings.Split(content, "\n") {
			if l = strings.TrimSpace(l); l != "" { // tolerate \r\n (upstream host-local's format)
				lines = append(lines, l)
			}
		}
		if len(lines) != 2 {
			return res, fmt.Errorf("reservation %s: want 2 lines <containerID> <ifname>, got %q", name, content)
		}
		res = append(res, Reservation{IP: addr.String(), ContainerID: lines[0], IfName: lines[1]})
	}
	return res, nil
}

// SandboxIDCommand prints the pod's mount table; under containerd the pod's
// /etc/hosts comes from .../sandboxes/<sandbox ID>/hosts, which names the
// sandbox (the CNI_CONTAINERID podnet stores).
func SandboxIDCommand() []string { return []string{"cat", "/proc/self/mountinfo"} }

// SandboxID extracts the sandbox ID from a pod's mountinfo, "" if the runtime
// does not reveal it that way.
func SandboxID(mountinfo string) string {
	for _, l := range strings.Split(mountinfo, "\n") {
		i := strings.Index(l, "/sandboxes/")
		if i < 0 {
			continue
		}
		id, _, _ := strings.Cut(l[i+len("/sandboxes/"):], "/")
		if len(id) == 64 && strings.Trim(id, "0123456789abcdef") == "" {
			return id
		}
	}
	return ""
}

// InPrefix reports whether ip lies in cidr.
func InPrefix(ip, cidr string) bool {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return false
	}
	a, err := netip.ParseAddr(ip)
	return err == nil && p.Contains(a)
}
