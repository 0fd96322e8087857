package ipam

// The allocator: which address an attachment gets, which it holds, and
// their release, all under the store's lock (lock.go), through the disk
// backend (disk.go) and the index (index.go).

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/cnigate/cnigate/plugin/ipam/format"
)

// Reserve gives a one address of each pool (in pool order): the next free
// one after the address handed out last (round-robin, wrapping to the
// start), so a just-released address is not reused at once while conntrack
// and neighbour caches still remember it. It fails with ErrAlreadyReserved
// when a already holds an address and with ErrPoolExhausted (a
// *PoolExhaustedError naming the subnet) when a pool has none free; in both
// cases nothing is written.
//
// Its cost does not grow with the number of reservations: the duplicate
// check reads a's index entry (att-<hash>) and the address files it lists,
// and a free address is found by checking candidate names for existence,
// which costs one fstatat per taken address met after the last one handed
// out (few while the pool is sparse).
func (s *Store) Reserve(a Attachment) ([]net.IP, error) {
	p, err := s.Prepare(a)
	if err != nil {
		return nil, err
	}
	defer p.Close()
	return s.ReservePrepared(p)
}

// Prepared holds the files a reservation is made of, created before any
// lock is taken (Prepare), so that the ADDs queued behind the locks wait
// for neither inode: the reservation written whole (it does not depend on
// the address), the index entry empty (its content does). They have no name
// (O_TMPFILE): only the links of ReservePrepared make them appear, and a
// process killed before leaves nothing. On a filesystem without O_TMPFILE
// both are -1 and ReservePrepared writes them through temporary names.
type Prepared struct {
	a          Attachment
	data       []byte
	res, entry int
	dir        *os.File // the store directory the files were made in
}

// Prepare makes the files of a's reservation (Prepared). The caller closes
// the result.
func (s *Store) Prepare(a Attachment) (*Prepared, error) {
	data, err := FormatReservation(a)
	if err != nil {
		return nil, err
	}
	p := &Prepared{a: a, data: data, res: -1, entry: -1, dir: s.dirf}
	if p.res, err = s.writeUnnamed(data); err != nil {
		return nil, err
	}
	if p.res < 0 {
		return p, nil // no O_TMPFILE
	}
	if p.entry, err = s.writeUnnamed(nil); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// Close discards the files that were not linked.
func (p *Prepared) Close() {
	for _, fd := range []*int{&p.res, &p.entry} {
		if *fd >= 0 {
			_ = unix.Close(*fd)
			*fd = -1
		}
	}
}

// ReservePrepared is Reserve with the files p made beforehand (Prepare on
// this store). It uses them up: p is closed after.
func (s *Store) ReservePrepared(p *Prepared) ([]net.IP, error) {
	defer p.Close()
	if p.dir != s.dirf {
		return nil, errors.New("prepared for another store")
	}
	a, data, unnamed, entry := p.a, p.data, p.res, p.entry
	var reserved []net.IP
	err := s.withLock(func() error {
		if err := s.removeTemps(); err != nil {
			return err // Reserve writes through them all
		}
		if err := s.ensureIndex(); err != nil {
			return err
		}
		held, err := s.lookup(a, true)
		if err != nil {
			return err
		}
		if len(held) > 0 {
			return fmt.Errorf("%w: %s holds %s", ErrAlreadyReserved, a, strings.Join(held, ", "))
		}
		ips := make([]net.IP, len(s.pools))
		for i, p := range s.pools {
			if ips[i], err = s.free(p); err != nil {
				return err
			}
		}
		// The index entry first, listing every address about to be linked:
		// an address file without its entry would be invisible to DEL.
		if err := s.writeEntry(entry, attTempName, attName(a), formatAtt(ips)); err != nil {
			return fmt.Errorf("reserving for %s: %w", a, err)
		}
		crashPoint("index entry written")
		if err := s.link(unnamed, data, ips); err != nil {
			_ = unix.Unlinkat(int(s.dirf.Fd()), attName(a), 0)
			return err
		}
		for i, p := range s.pools {
			crashPoint("before last reserved " + ips[i].String())
			s.setLastReserved(p, ips[i])
		}
		reserved = ips
		return nil
	})
	return reserved, err
}

// crashHook, set by tests, is called at each point of Reserve and Release
// where a killed process would leave the store part-way; it panics to stop
// there as a kill would (the lock goes with the panic as with the process).
var crashHook func(step string)

func crashPoint(step string) {
	if crashHook != nil {
		crashHook(step)
	}
}

// MaxProbes bounds the addresses one Reserve checks per pool. It matters only
// for pools larger than it (an IPv6 /64 has 2^64-2 addresses): such a pool is
// reported exhausted when MaxProbes addresses in a row after the last one
// handed out are taken, which takes a million pods on one node. A variable so
// that tests can lower it.
var MaxProbes uint64 = 1 << 20

// PoolExhaustedError is ErrPoolExhausted for one subnet.
type PoolExhaustedError struct {
	Subnet       *net.IPNet
	Size, Probed uint64
}

func (e *PoolExhaustedError) Error() string {
	if e.Probed < e.Size {
		return fmt.Sprintf("%v in %s: the %d addresses after the last one handed out are all taken", ErrPoolExhausted, e.Subnet, e.Probed)
	}
	return fmt.Sprintf("%v in %s: all %d addresses are reserved", ErrPoolExhausted, e.Subnet, e.Size)
}

// Is makes errors.Is(err, ErrPoolExhausted) hold.
func (e *PoolExhaustedError) Is(target error) bool { return target == ErrPoolExhausted }

// free returns the first address of p after the last one handed out whose
// name is not taken in the store (by a reservation, a corrupt file or
// anything else: what is there is never handed out). The caller holds the
// lock, so no other podnet can take it before the link.
func (s *Store) free(p Pool) (net.IP, error) {
	start := p.First()
	if last := s.lastReserved(p); last != nil {
		if start = p.Next(last); start == nil {
			start = p.First()
		}
	}
	probes := min(p.Size(), MaxProbes)
	for i, ip := uint64(0), start; i < probes; i++ {
		taken, err := s.exists(ip.String())
		if err != nil {
			return nil, err
		}
		if !taken {
			return ip, nil
		}
		if ip = p.Next(ip); ip == nil {
			ip = p.First()
		}
	}
	return nil, &PoolExhaustedError{Subnet: p.Subnet, Size: p.Size(), Probed: probes}
}

// lastReservedName is the record of the address p handed out last.
func lastReservedName(p Pool) string {
	if p.IPv6() {
		return lastReserved6FileName
	}
	return lastReservedFileName
}

// lastReserved returns the address recorded by setLastReserved, or nil when
// there is none or it is unusable (then Reserve scans from the start).
func (s *Store) lastReserved(p Pool) net.IP {
	data, err := s.ReadFile(lastReservedName(p))
	if err != nil {
		return nil
	}
	ip := ParseLastReserved(data)
	if ip == nil || !p.Contains(ip) {
		return nil
	}
	return ip
}

// setLastReserved records ip. It is only a hint: when it cannot be written,
// the next Reserve scans from the start, so errors are dropped. For the same
// reason it is rewritten in place (overwrite) rather than renamed over: a
// writer killed mid-way leaves at worst an unparsable record, which costs
// the round-robin one restart from the pool's first address, while a rename
// over an existing file makes ext4 (auto_da_alloc) start writing the new
// file back to disk inside the lock: ~0.3 ms of every ADD, measured in
// docs/measurements/2026-12-07-podnet-cuts.md.
func (s *Store) setLastReserved(p Pool, ip net.IP) {
	name, data := lastReservedName(p), format.EncodeLastReserved(ip)
	if s.overwrite(name, data) != nil {
		_ = s.writeRecord(recordTempName, name, data) // missing (the first ADD) or not a plain file
	}
}

// Release frees the addresses held by a and returns them, or none when a
// holds none. Matching is by attachment, never by address text. The address
// files go first and the index entry last, so a crash in between leaves an
// entry listing missing addresses, which the next Release or Reserve of a
// clears (never an address file that no entry lists).
func (s *Store) Release(a Attachment) ([]net.IP, error) {
	var released []net.IP
	err := s.withLock(func() error {
		_ = s.removeTemps() // best effort: releasing writes none of them
		// Building a missing index writes; releasing only removes. When the
		// build fails (a full disk), read the store whole instead, so DEL
		// needs no new space.
		indexed := s.ensureIndex() == nil
		held, err := s.lookup(a, indexed)
		if err != nil {
			return err
		}
		for _, ip := range held {
			if err := s.remove(ip); err != nil {
				return err
			}
			released = append(released, parseCanonicalIP(ip))
			crashPoint("removed " + ip)
		}
		return s.remove(attName(a))
	})
	return released, err
}

// Lookup returns the addresses held by a (in pool order), or none. It writes
// nothing, not even a missing index.
func (s *Store) Lookup(a Attachment) ([]net.IP, error) {
	var found []net.IP
	err := s.withLock(func() error {
		indexed, err := s.exists(indexFileName)
		if err != nil {
			return err
		}
		held, err := s.lookup(a, indexed)
		for _, ip := range held {
			found = append(found, parseCanonicalIP(ip))
		}
		return err
	})
	return found, err
}

// lookup returns the addresses a holds, the caller holding the lock. With a
// built index (indexed) it reads a's entry and confirms every address it
// lists against the address file; no entry means no address, because every
// reservation's entry is written before its address files and removed after
// them. Without the index, or when the entry is corrupt or disagrees with
// the address files (a crash between two steps, or a hand edit), it reads
// the whole store instead.
func (s *Store) lookup(a Attachment, indexed bool) ([]string, error) {
	if indexed {
		data, err := s.ReadFile(attName(a))
		if errors.Is(err, unix.ENOENT) {
			return nil, nil
		}
		if listed, perr := parseAtt(data); err == nil && perr == nil && s.allHeldBy(listed, a) {
			return listed, nil
		}
	}
	held, _, err := s.read()
	if err != nil {
		return nil, err
	}
	return s.addressesOf(held, a), nil
}

// allHeldBy reports whether every address in ips is reserved for a.
func (s *Store) allHeldBy(ips []string, a Attachment) bool {
	buf := make([]byte, MaxFileSize+1)
	for _, ip := range ips {
		n, err := readFileAt(int(s.dirf.Fd()), ip, buf)
		if err != nil || n > MaxFileSize {
			return false
		}
		if got, err := ParseReservation(buf[:n]); err != nil || got != a {
			return false
		}
	}
	return len(ips) > 0
}

// List returns every readable reservation, address to attachment. Corrupt
// ones (see Reservation) are left out.
func (s *Store) List() (map[string]Attachment, error) {
	var out map[string]Attachment
	err := s.withLock(func() error {
		held, _, err := s.read()
		if err != nil {
			return err
		}
		out = make(map[string]Attachment, len(held))
		for ip, r := range held {
			if r.Err == nil {
				out[ip] = r.Attachment
			}
		}
		return nil
	})
	return out, err
}

// ReleaseExcept frees every reservation whose attachment is not in keep, and
// every corrupt reservation file (its owner is unknown, so it cannot be
// valid), repairing the mode of the files it keeps, and rebuilds the index
// from what is left. It returns the attachments it freed (once per address)
// and the number of corrupt files removed.
func (s *Store) ReleaseExcept(keep map[Attachment]bool) (freed []Attachment, corrupt int, err error) {
	err = s.withLock(func() error {
		held, atts, err := s.read()
		if err != nil {
			return err
		}
		for ip, r := range held {
			switch {
			case r.Err == nil && keep[r.Attachment]:
				_ = s.repairMode(ip)
				continue
			case errors.Is(r.Err, errNotRegular):
				continue // not ours: never removed
			}
			if err := s.remove(ip); err != nil {
				return err
			}
			delete(held, ip)
			if r.Err != nil {
				corrupt++
			} else {
				freed = append(freed, r.Attachment)
			}
		}
		return s.syncIndex(held, atts)
	})
	return freed, corrupt, err
}

// Inspect returns, for each pool, the number of entries of network name's
// store that are named by an address of the pool, without the lock, without
// reading them and without writing anything (no lock file, no mode repair):
// an instant answer for STATUS, which must neither wait for other processes
// nor change the store. A missing store is fs.ErrNotExist; an unsafe one
// ErrUnsafe.
func Inspect(dataDir, name string, pools []Pool) ([]uint64, error) {
	dirf, err := openStoreDir(dataDir, name, false, false)
	if err != nil {
		return nil, err
	}
	defer func() { _ = dirf.Close() }()
	s := &Store{dir: dirf.Name(), pools: pools, dirf: dirf}
	entries, err := s.entries()
	if err != nil {
		return nil, err
	}
	counts := make([]uint64, len(pools))
	for _, e := range entries {
		ip := parseCanonicalIP(e.Name())
		for i, p := range pools {
			if ip != nil && p.Contains(ip) {
				counts[i]++
			}
		}
	}
	return counts, nil
}

// addressesOf returns the addresses a holds in held, in pool order.
func (s *Store) addressesOf(held map[string]Reservation, a Attachment) []string {
	var out []string
	for ip, r := range held {
		if r.Err == nil && r.Attachment == a {
			out = append(out, ip)
		}
	}
	slices.SortFunc(out, func(x, y string) int { return cmp.Or(cmp.Compare(s.rank(x), s.rank(y)), cmp.Compare(x, y)) })
	return out
}

// rank orders addresses by the pool holding them; others come last.
func (s *Store) rank(ip string) int {
	addr := parseCanonicalIP(ip)
	for i, p := range s.pools {
		if p.Contains(addr) {
			return i
		}
	}
	return len(s.pools)
}
