package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/cnigate/cnigate/cnitest"
	"github.com/cnigate/cnigate/plugin/ipam/format"
)

// podnetStore is podnet's IPAM store as its specification documents it
// (docs/podnet.md#ipam-store-format-version-1): <dataDir>/<name>/ (0700)
// holds a file per reserved address, named by the address, holding the
// container ID and the interface on two lines; per attachment an index entry
// att-<sha256 of "containerID\nifname", hex> listing its addresses one per
// line; the marker "index" (every reservation has its entry). Files are 0600.
// The names and contents come from package format, the specification's one
// executable copy, which podnet's store uses too; the bench imports nothing
// else of podnet (it stays black-box: locking, allocation and recovery are
// podnet's and are proven by running it, as writePreload's GC does).
const podnetStore = "podnet-store"

// preloadIfName is the interface of every preloaded attachment.
const preloadIfName = "eth0"

// preloadID is the container ID of preloaded attachment i.
func preloadID(i int) string { return fmt.Sprintf("preload-%d", i) }

// preloadAddresses are the n addresses a preload reserves: from the start of
// subnet's pool (the gateway, its first host, excluded), two of every three
// addresses, so that ADDs, which start from the pool's first address when
// the store has no last_reserved, thread through holes among the preloaded
// reservations and every one checks some taken names.
func preloadAddresses(subnet *net.IPNet, n int) ([]net.IP, error) {
	base := subnet.IP.Mask(subnet.Mask).To4()
	if base == nil {
		return nil, fmt.Errorf("preload: %s is not an IPv4 subnet", subnet)
	}
	ones, _ := subnet.Mask.Size()
	broadcast := binary.BigEndian.Uint32(base) | (1<<(32-ones) - 1)
	ips := make([]net.IP, 0, n)
	for k := uint32(0); len(ips) < n; k++ {
		addr := binary.BigEndian.Uint32(base) + 2 + k
		if addr >= broadcast {
			return nil, fmt.Errorf("preload: %d reservations, two of every three addresses, do not fit %s", n, subnet)
		}
		if k%3 != 2 {
			ips = append(ips, binary.BigEndian.AppendUint32(nil, addr))
		}
	}
	return ips, nil
}

// attEntryName is the index entry of an attachment in a podnet store.
func attEntryName(containerID, ifName string) string {
	return format.AttName(format.Attachment{ContainerID: containerID, IfName: ifName})
}

// writePodnetStore writes n reservations into the podnet store directory
// storeDir (created; it must not hold a store yet) and returns their
// addresses.
func writePodnetStore(storeDir string, subnet *net.IPNet, n int) ([]net.IP, error) {
	ips, err := preloadAddresses(subnet, n)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(storeDir), format.DirMode); err != nil {
		return nil, err
	}
	if err := os.Mkdir(storeDir, format.DirMode); err != nil {
		return nil, fmt.Errorf("preload: %w", err)
	}
	write := func(name string, content []byte) error {
		return os.WriteFile(filepath.Join(storeDir, name), content, format.FileMode)
	}
	for i, ip := range ips {
		a := format.Attachment{ContainerID: preloadID(i), IfName: preloadIfName}
		// The index entry first, as podnet orders it.
		if err := write(format.AttName(a), format.EncodeAtt([]net.IP{ip})); err != nil {
			return nil, err
		}
		reservation, err := format.EncodeReservation(a)
		if err != nil {
			return nil, err
		}
		if err := write(ip.String(), reservation); err != nil {
			return nil, err
		}
	}
	// podnet only tests the marker for existence.
	return ips, write(format.IndexMarker, []byte(format.IndexMarkerContent))
}

// storeCount is what a podnet store directory holds.
type storeCount struct {
	Reservations int               // files named by an address
	Entries      map[string]uint64 // att-* index entries by name, with their inode
	Marker       bool              // the "index" marker
}

func countPodnetStore(storeDir string) (storeCount, error) {
	count := storeCount{Entries: map[string]uint64{}}
	entries, err := os.ReadDir(storeDir)
	if err != nil {
		return count, err
	}
	for _, e := range entries {
		switch name := e.Name(); {
		case format.ParseAddressName(name) != nil:
			count.Reservations++
		case strings.HasPrefix(name, format.AttPrefix):
			info, err := e.Info()
			if err != nil {
				return count, err
			}
			st, ok := info.Sys().(*syscall.Stat_t)
			if !ok {
				return count, fmt.Errorf("no inode for %s", name)
			}
			count.Entries[name] = st.Ino
		case name == format.IndexMarker:
			count.Marker = true
		}
	}
	return count, nil
}

// storeDir is the contender's podnet store: <dataDir>/<network name>.
func (c *contender) storeDir() string { return filepath.Join(c.dir, "data", netName) }

// writePreload writes the contender's preload and proves podnet reads it as
// its own: a GC naming every preloaded attachment valid must keep all of
// them (GC removes reservation files it cannot parse) and leave every index
// entry as written (GC rebuilds the index, replacing entries that differ
// from what it derives from the reservations). It returns the preloaded
// addresses.
func (c *contender) writePreload(ctx context.Context, timeout time.Duration) (map[string]bool, error) {
	n := c.preload.Reservations
	ips, err := writePodnetStore(c.storeDir(), c.subnet, n)
	if err != nil {
		return nil, err
	}
	before, err := countPodnetStore(c.storeDir())
	if err != nil {
		return nil, err
	}
	valid := make([]map[string]string, n)
	for i := range n {
		valid[i] = map[string]string{"containerID": preloadID(i), "ifname": preloadIfName}
	}
	conf, err := cnitest.WithFields(c.conf, map[string]any{"cni.dev/valid-attachments": valid})
	if err != nil {
		return nil, err
	}
	resp, err := c.run(ctx, timeout, cnitest.Invocation{Command: "GC", Config: conf})
	if err != nil {
		return nil, err
	}
	if resp.Failed() {
		return nil, fmt.Errorf("preload: GC with the %d preloaded attachments valid failed: %s", n, resp)
	}
	after, err := countPodnetStore(c.storeDir())
	if err != nil {
		return nil, err
	}
	if err := samePreload(n, before, after); err != nil {
		return nil, err
	}
	taken := make(map[string]bool, n)
	for _, ip := range ips {
		taken[ip.String()] = true
	}
	return taken, nil
}

// samePreload checks that a store still holds the n reservations written and
// the very index entries (same inodes) after podnet's GC.
func samePreload(n int, before, after storeCount) error {
	var problems []string
	if before.Reservations != n || len(before.Entries) != n || !before.Marker {
		problems = append(problems, fmt.Sprintf("written: %d reservations, %d index entries, marker %v", before.Reservations, len(before.Entries), before.Marker))
	}
	if after.Reservations != n {
		problems = append(problems, fmt.Sprintf("podnet's GC kept %d of the %d reservations (it removes files it cannot parse)", after.Reservations, n))
	}
	rewritten := 0
	for name, ino := range before.Entries {
		if after.Entries[name] != ino {
			rewritten++
		}
	}
	if rewritten > 0 || len(after.Entries) != len(before.Entries) {
		problems = append(problems, fmt.Sprintf("podnet's GC rewrote or removed %d of the %d index entries and has %d (they differ from the store's documented format)", rewritten, len(before.Entries), len(after.Entries)))
	}
	if len(problems) > 0 {
		return errors.New("preload " + podnetStore + ": " + strings.Join(problems, "; "))
	}
	return nil
}

// allLeftovers is what DELs left: interfaces, and for a preloaded store the
// reservations other than the preload (more: a DEL released nothing; fewer:
// a DEL released a preloaded one).
func (c *contender) allLeftovers() (int, error) {
	n, err := c.leftovers()
	if err != nil || c.preload == nil {
		return n, err
	}
	count, err := countPodnetStore(c.storeDir())
	if err != nil {
		return n, err
	}
	return n + max(count.Reservations-c.preload.Reservations, c.preload.Reservations-count.Reservations), nil
}
