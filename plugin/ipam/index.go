package ipam

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/cnigate/cnigate/plugin/ipam/format"
)

// The index maps an attachment to its addresses, so that ADD and DEL find
// them without reading every reservation: att-<sha256 of container ID and
// interface> lists the attachment's addresses, one per line. It is kept true
// by ordering, not by trust: Reserve writes the entry before the address
// files and Release removes it after them, so every address file has an
// entry listing it, and what an entry lists is confirmed against the address
// files (which name their attachment) before it is believed. The marker file
// "index" says every reservation has its entry; a store without it (made by
// a podnet before the index, or whose rebuild was killed) is rebuilt from the
// address files by the next Reserve or Release, and GC rebuilds it always.
const (
	attPrefix     = format.AttPrefix
	indexFileName = format.IndexMarker
	indexContent  = format.IndexMarkerContent
	// Temporary files of the locked writers, fixed names (the lock makes them
	// single-writer); removeTemps deletes what a killed writer left.
	attTempName    = ".att"
	recordTempName = ".record"
)

// attName is the index entry of a (format.AttName).
func attName(a Attachment) string { return format.AttName(a) }

// formatAtt is the content of an index entry (format.EncodeAtt).
func formatAtt(ips []net.IP) []byte { return format.EncodeAtt(ips) }

// parseAtt is the inverse of formatAtt (format.ParseAtt).
func parseAtt(data []byte) ([]string, error) { return format.ParseAtt(data) }

// ensureIndex rebuilds the index from the address files unless its marker is
// there. The caller holds the lock.
func (s *Store) ensureIndex() error {
	indexed, err := s.exists(indexFileName)
	if err != nil || indexed {
		return err
	}
	held, atts, err := s.read()
	if err != nil {
		return err
	}
	return s.syncIndex(held, atts)
}

// syncIndex makes the index entries exactly those of the readable
// reservations in held (atts: the entries there are now), then writes the
// marker. An entry that is already right is left alone, so a rebuild of an
// intact index only reads.
func (s *Store) syncIndex(held map[string]Reservation, atts []string) error {
	want := map[string][]net.IP{}
	for ip, r := range held {
		if r.Err == nil {
			want[attName(r.Attachment)] = append(want[attName(r.Attachment)], parseCanonicalIP(ip))
		}
	}
	for _, name := range atts {
		if _, ok := want[name]; !ok {
			if err := s.remove(name); err != nil {
				return err
			}
		}
	}
	for name, ips := range want {
		sortByPool(s, ips)
		content := formatAtt(ips)
		if got, err := s.ReadFile(name); err == nil && bytes.Equal(got, content) {
			continue
		}
		if err := s.writeRecord(attTempName, name, content); err != nil {
			return fmt.Errorf("rebuilding the IPAM index: %w", err)
		}
	}
	if indexed, err := s.exists(indexFileName); err != nil || indexed {
		return err
	}
	return s.writeRecord(recordTempName, indexFileName, []byte(indexContent))
}

// sortByPool orders ips by the pool holding them, as Reserve lists them.
func sortByPool(s *Store, ips []net.IP) {
	slices.SortFunc(ips, func(x, y net.IP) int {
		return cmp.Or(cmp.Compare(s.rank(x.String()), s.rank(y.String())), cmp.Compare(x.String(), y.String()))
	})
}

// writeRecord replaces the store file name with data through the temporary
// file tmp (written whole, then renamed over name), so a crash leaves the old
// content or the new. The caller holds the lock, which makes tmp its own.
func (s *Store) writeRecord(tmp, name string, data []byte) error {
	if err := s.writeNew(tmp, data); err != nil {
		return err
	}
	dirfd := int(s.dirf.Fd())
	if err := unix.Renameat(dirfd, tmp, dirfd, name); err != nil {
		_ = unix.Unlinkat(dirfd, tmp, 0)
		return &fs.PathError{Op: "rename", Path: filepath.Join(s.dir, name), Err: err}
	}
	return nil
}

// writeEntry writes the new store file name holding data, the caller
// holding the lock: into unnamed (an empty file of writeUnnamed), then
// linked into place (no temporary name to create and remove), or, when
// unnamed is -1, by writeRecord through tmp. A name that exists already (a
// stale entry) is replaced by writeRecord's rename.
func (s *Store) writeEntry(unnamed int, tmp, name string, data []byte) error {
	if unnamed < 0 {
		return s.writeRecord(tmp, name, data)
	}
	if err := writeAll(unnamed, data); err != nil {
		return &fs.PathError{Op: "write", Path: filepath.Join(s.dir, name), Err: err}
	}
	err := s.linkUnnamed(unnamed, name)
	if errors.Is(err, unix.EEXIST) {
		return s.writeRecord(tmp, name, data)
	}
	if err != nil {
		return &fs.PathError{Op: "link", Path: filepath.Join(s.dir, name), Err: err}
	}
	return nil
}

// link makes the reservation data appear under every address of ips, the
// caller holding the lock: written whole first (unnamed, the unnamed file
// Reserve wrote before the lock; else, -1, to the temporary file
// .reserving) and then linked to each address name. link(2) fails if the
// name exists (O_EXCL semantics) and makes the complete file appear at
// once, so a crash at any point leaves either no reservation or a whole
// one, never an empty file DEL cannot match. On failure the names it
// linked are removed again.
func (s *Store) link(unnamed int, data []byte, ips []net.IP) error {
	dirfd := int(s.dirf.Fd())
	first := func(name string) error { return s.linkUnnamed(unnamed, name) }
	if unnamed < 0 {
		if err := s.writeNew(reservingTempName, data); err != nil {
			return fmt.Errorf("reserving %s: %w", ips[0], err)
		}
		first = func(name string) error { return unix.Linkat(dirfd, reservingTempName, dirfd, name, 0) }
	}
	crashPoint("reservation temp written")
	for i, ip := range ips {
		var err error
		if i == 0 {
			err = first(ip.String())
		} else { // the file has a name now: the other families link to it
			err = unix.Linkat(dirfd, ips[0].String(), dirfd, ip.String(), 0)
		}
		if err != nil {
			for _, done := range ips[:i] {
				_ = unix.Unlinkat(dirfd, done.String(), 0)
			}
			if unnamed < 0 {
				_ = unix.Unlinkat(dirfd, reservingTempName, 0)
			}
			return fmt.Errorf("reserving %s: %w", ip, &fs.PathError{Op: "link", Path: filepath.Join(s.dir, ip.String()), Err: err})
		}
		crashPoint("linked " + ip.String())
	}
	if unnamed < 0 {
		return s.remove(reservingTempName)
	}
	return nil
}

// errReservedName is WriteFile's and OpenLock's refusal of the store's own names.
var errReservedName = errors.New("is one of the IPAM store's own names")

// reservedName reports whether name belongs to the store itself.
func reservedName(name string) bool {
	return net.ParseIP(name) != nil || strings.HasPrefix(name, attPrefix) || strings.HasPrefix(name, ".") ||
		name == indexFileName || name == lockFileName || name == lastReservedFileName || name == lastReserved6FileName
}
