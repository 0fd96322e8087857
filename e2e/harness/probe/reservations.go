package probe

import (
	"fmt"
	"net/netip"
	"path"
	"strings"

	"github.com/cnigate/cnigate/plugin/ipam/format"
)

// Reservation is one reservation file of an IPAM store: <store>/<IP> naming
// the attachment (container ID, interface) the address is reserved for.
type Reservation struct {
	IP          string
	ContainerID string
	IfName      string
}

// ListReservationsCommand prints every file of the reservation directory dir
// as "@@ <name>", a newline, its content and a newline. Run it in the
// hostNetwork helper pod, which mounts the node's data dir read-only. A
// missing dir lists nothing.
func ListReservationsCommand(dir string) []string {
	return []string{"sh", "-c", `d=$1; [ -d "$d" ] || exit 0; for f in "$d"/*; do [ -f "$f" ] || continue; echo "@@ ${f##*/}"; cat "$f"; echo; done`, "sh", dir}
}

// ReservationDir is where the helper pod sees a network's reservations, the
// node's data dir being mounted at mountPoint.
func ReservationDir(mountPoint, network string) string { return path.Join(mountPoint, network) }

// ParseReservations parses ListReservationsCommand output. Files whose names
// are not addresses (lock, last_reserved, index entries, ...) are not
// reservations and are left out. A reservation is read in podnet's store
// format (plugin/ipam/format, the published spec: the harness imports it,
// never re-implements it) or in upstream host-local's ("<containerID>\r\n<ifname>",
// the bridge CNI's store); anything else is an error.
func ParseReservations(out string) ([]Reservation, error) {
	var res []Reservation
	// Each file is followed by the echo's newline: the separator before the
	// next "@@ " and the output's last byte, so a chunk is the file's bytes.
	for _, chunk := range strings.Split("\n"+strings.TrimSuffix(out, "\n"), "\n@@ ")[1:] {
		name, content, _ := strings.Cut(chunk, "\n")
		name = strings.TrimSpace(name)
		ip := format.ParseAddressName(name)
		if ip == nil {
			continue
		}
		a, err := format.ParseReservation([]byte(content))
		if err != nil {
			var ok bool
			if a, ok = hostLocalReservation(content); !ok {
				return res, fmt.Errorf("reservation %s: %w", name, err)
			}
		}
		res = append(res, Reservation{IP: ip.String(), ContainerID: a.ContainerID, IfName: a.IfName})
	}
	return res, nil
}

// hostLocalReservation reads a reservation of upstream host-local's disk
// store, which writes the container ID and the interface joined by "\r\n"
// and compares them with surrounding space trimmed.
func hostLocalReservation(content string) (format.Attachment, bool) {
	id, ifname, ok := strings.Cut(strings.TrimSpace(content), "\r\n")
	if !ok || id == "" || ifname == "" || strings.ContainsAny(id+ifname, "\r\n") {
		return format.Attachment{}, false
	}
	return format.Attachment{ContainerID: id, IfName: ifname}, true
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
