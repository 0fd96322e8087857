// Package format is the on-disk format of podnet's IPAM store, version 1:
// the names of the store's files and what each holds, with the functions
// that write and parse them. It is the executable form of the specification
// in docs/podnet.md (section "IPAM store format (version 1)") and its one
// copy: podnet's store (plugin/ipam) reads and writes through it, and the
// black-box tools that must write or read a store (the bench's big-store
// preload, the e2e's reservation checks) import it instead of re-implementing
// it. It holds no I/O and none of podnet's behaviour (locking, allocation,
// crash recovery, modes repair): those stay in plugin/ipam. Changing anything
// here changes the format, hence Version and that section, together.
package format

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"strings"
)

// Version is the store format these names and layouts make up.
const Version = 1

// A store is the directory <dataDir>/<network name>, of mode DirMode; every
// file podnet writes in it has mode FileMode.
const (
	DirMode  = 0o700
	FileMode = 0o600
)

// The store's fixed names. Besides these, a store holds one reservation per
// reserved address (named by the address, ParseAddressName), one index entry
// per attachment (AttPrefix + AttName) and podnet's temporary files, whose
// names start with a dot (never an address).
const (
	// LockFile is the flock every read-modify-write of the store holds.
	LockFile = "lock"
	// LastReserved and LastReserved6 hold the IPv4 and IPv6 address handed
	// out last (EncodeLastReserved), so allocation continues after it.
	LastReserved  = "last_reserved"
	LastReserved6 = "last_reserved6"
	// IndexMarker, holding IndexMarkerContent, says every reservation has its
	// index entry. Only its presence is read.
	IndexMarker        = "index"
	IndexMarkerContent = "v1\n"
	// AttPrefix starts the name of every index entry.
	AttPrefix = "att-"
	// BridgeRecord holds the bridge the store's addresses live on, and a newline.
	BridgeRecord = "bridge"
)

// MaxFileSize bounds every store file: a larger one is corrupt and is never
// read whole.
const MaxFileSize = 4096

// ErrTooLarge is the error for a file larger than MaxFileSize.
var ErrTooLarge = fmt.Errorf("larger than %d bytes", MaxFileSize)

// Attachment names one container interface, the unit the CNI spec hands out
// and releases addresses by.
type Attachment struct {
	ContainerID string
	IfName      string
}

func (a Attachment) String() string { return a.ContainerID + "/" + a.IfName }

// EncodeReservation is the content of a reservation file: the container ID
// and the interface name, one per line. Neither may be empty, have leading or
// trailing space, or hold a newline or NUL byte.
func EncodeReservation(a Attachment) ([]byte, error) {
	if err := validField("container ID", a.ContainerID); err != nil {
		return nil, err
	}
	if err := validField("interface name", a.IfName); err != nil {
		return nil, err
	}
	data := []byte(a.ContainerID + "\n" + a.IfName + "\n")
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("reservation of %s: %w", a, ErrTooLarge)
	}
	return data, nil
}

// ParseReservation is the inverse of EncodeReservation; anything else (empty,
// truncated, extra lines, NUL bytes) is an error.
func ParseReservation(data []byte) (Attachment, error) {
	if len(data) > MaxFileSize {
		return Attachment{}, ErrTooLarge
	}
	lines := strings.Split(string(data), "\n")
	if len(lines) != 3 || lines[2] != "" {
		return Attachment{}, fmt.Errorf("reservation is not two lines (container ID, interface): %q", Truncate(data))
	}
	a := Attachment{ContainerID: lines[0], IfName: lines[1]}
	if err := validField("container ID", a.ContainerID); err != nil {
		return Attachment{}, err
	}
	if err := validField("interface name", a.IfName); err != nil {
		return Attachment{}, err
	}
	return a, nil
}

func validField(what, s string) error {
	if s == "" || strings.TrimSpace(s) != s || strings.ContainsAny(s, "\n\x00") {
		return fmt.Errorf("reservation has an invalid %s %q", what, s)
	}
	return nil
}

// Truncate shortens data to at most 64 bytes, for error messages.
func Truncate(data []byte) []byte {
	if len(data) > 64 {
		return data[:64]
	}
	return data
}

// ParseAddressName parses a store entry name that is an address, as
// net.IP.String writes it (an IPv4 address is returned in 4 bytes), or
// returns nil: another spelling of an address ("fd00:0::2",
// "::ffff:10.0.0.1") is not one of the store's names.
func ParseAddressName(name string) net.IP {
	ip := net.ParseIP(name)
	if ip == nil || ip.String() != name {
		return nil
	}
	if v4 := ip.To4(); v4 != nil {
		return v4
	}
	return ip
}

// AttName is the index entry of a: AttPrefix and the hex SHA-256 of the
// container ID, a newline and the interface name. Neither holds a newline,
// so the hashed text is unambiguous.
func AttName(a Attachment) string {
	sum := sha256.Sum256([]byte(a.ContainerID + "\n" + a.IfName))
	return AttPrefix + hex.EncodeToString(sum[:])
}

// EncodeAtt is the content of an index entry: the attachment's addresses,
// one per line, in pool order (IPv4 first in a dual-stack store).
func EncodeAtt(ips []net.IP) []byte {
	var b strings.Builder
	for _, ip := range ips {
		b.WriteString(ip.String() + "\n")
	}
	return []byte(b.String())
}

// ParseAtt is the inverse of EncodeAtt: one or more addresses as
// ParseAddressName reads them, each followed by a newline. Anything else is
// corrupt.
func ParseAtt(data []byte) ([]string, error) {
	text, ok := strings.CutSuffix(string(data), "\n")
	if !ok || text == "" {
		return nil, fmt.Errorf("index entry is not a list of addresses: %q", Truncate(data))
	}
	lines := strings.Split(text, "\n")
	for _, l := range lines {
		if ParseAddressName(l) == nil {
			return nil, fmt.Errorf("index entry holds %q, not an address", Truncate([]byte(l)))
		}
	}
	return lines, nil
}

// EncodeLastReserved is the content of LastReserved or LastReserved6.
func EncodeLastReserved(ip net.IP) []byte { return []byte(ip.String() + "\n") }

// ParseLastReserved parses the content of a last-reserved record: one
// address as ParseAddressName reads it, and a newline. Anything else is nil.
func ParseLastReserved(data []byte) net.IP {
	text, ok := strings.CutSuffix(string(data), "\n")
	if !ok {
		return nil
	}
	return ParseAddressName(text)
}
