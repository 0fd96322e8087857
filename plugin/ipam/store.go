package ipam

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

const (
	lockFileName = "lock"
	// lastReservedFileName holds the address Reserve handed out last, so the
	// next Reserve starts after it (round-robin, as host-local does).
	lastReservedFileName = "last_reserved"
	// lastReserved6FileName is the same for the IPv6 pool.
	lastReserved6FileName = "last_reserved6"
	// reservingTempName is where Reserve writes a reservation before linking
	// it to its address name. It starts with a dot so it never parses as an
	// address; one left by a crash is removed by the next locked operation.
	reservingTempName = ".reserving"
	dirMode           = 0o700
	fileMode          = 0o600

	// MaxFileSize bounds every read of a store file. A reservation is a
	// container ID (at most a few hundred bytes in practice) and an interface
	// name; a larger file is corrupt and never read whole.
	MaxFileSize = 4096
)

// LockTimeout bounds every wait for the store's lock; past it the operation
// fails with ErrBusy. A variable so that tests can shorten it.
var LockTimeout = 10 * time.Second

// ErrPoolExhausted is returned by Reserve when every usable address of the
// subnet is taken.
var ErrPoolExhausted = errors.New("no free address")

// ErrAlreadyReserved is returned by Reserve when the attachment already holds
// an address.
var ErrAlreadyReserved = errors.New("attachment already has an address")

// ErrBusy is returned when the store's lock was not free within LockTimeout.
var ErrBusy = errors.New("IPAM store is busy")

// ErrUnsafe is returned by Open when the store directory or its lock file is
// not what podnet made: a symlink, not a directory or regular file, or owned
// by another user.
var ErrUnsafe = errors.New("IPAM store is unsafe")

// Attachment names one container interface, the unit the CNI spec hands out
// and releases addresses by.
type Attachment struct {
	ContainerID string
	IfName      string
}

func (a Attachment) String() string { return a.ContainerID + "/" + a.IfName }

// Store keeps the reservations of one network in one directory. Every file
// access is relative to the directory's descriptor and follows no symlink, so
// a planted link can neither redirect a write nor be read through.
type Store struct {
	dir   string
	pools []Pool   // one per address family, in the order Reserve hands them out
	dirf  *os.File // the store directory, O_DIRECTORY|O_NOFOLLOW
	lockf *os.File
	// busy: a lock wait timed out. Its abandoned waiter shares lockf's open
	// file description and drops the lock whenever it is granted, which would
	// also drop a later holder's: the store takes no lock again.
	busy bool
}

// Open returns the store of network name under dataDir. With create, dataDir
// and the store directory are made (0700) when missing; without it a missing
// directory is reported as fs.ErrNotExist, so DEL, CHECK and GC create no
// store where none was (an existing one gets its lock file, and modes are
// repaired as below). A store directory or lock file that is a symlink, of the
// wrong type or owned by another user is refused with ErrUnsafe; wrong modes
// are repaired (0700, 0600).
func Open(dataDir, name string, pools []Pool, create bool) (*Store, error) {
	dirf, err := openStoreDir(dataDir, name, create, true)
	if err != nil {
		return nil, err
	}
	lockf, err := openAt(dirf, lockFileName, unix.O_RDWR|unix.O_CREAT)
	if err == nil {
		err = checkOwnFile(lockf, unix.S_IFREG, fileMode, true)
	}
	if err != nil {
		_ = dirf.Close()
		if lockf != nil {
			_ = lockf.Close()
		}
		return nil, fmt.Errorf("opening IPAM lock: %w", err)
	}
	return &Store{dir: dirf.Name(), pools: pools, dirf: dirf, lockf: lockf}, nil
}

// openStoreDir opens dataDir/name without following a symlink in its last
// component. dataDir itself is the administrator's path, symlinks included.
// With repair, a wrong mode is set right.
func openStoreDir(dataDir, name string, create, repair bool) (*os.File, error) {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return nil, fmt.Errorf("%w: %q is not a directory name", ErrUnsafe, name)
	}
	if create {
		if err := os.MkdirAll(dataDir, dirMode); err != nil {
			return nil, fmt.Errorf("creating IPAM directory: %w", err)
		}
	}
	parent, err := os.OpenFile(dataDir, os.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return nil, fmt.Errorf("opening data directory: %w", err)
	}
	defer func() { _ = parent.Close() }()
	if create {
		if err := unix.Mkdirat(int(parent.Fd()), name, dirMode); err != nil && !errors.Is(err, unix.EEXIST) {
			return nil, fmt.Errorf("creating IPAM directory: %w", &fs.PathError{Op: "mkdir", Path: filepath.Join(dataDir, name), Err: err})
		}
	}
	path := filepath.Join(dataDir, name)
	fd, err := openat(int(parent.Fd()), name, unix.O_RDONLY|unix.O_DIRECTORY)
	switch {
	case errors.Is(err, unix.ENOENT):
		return nil, &fs.PathError{Op: "open", Path: path, Err: fs.ErrNotExist}
	case errors.Is(err, unix.ELOOP), errors.Is(err, unix.ENOTDIR):
		return nil, fmt.Errorf("%w: %s is a symlink or not a directory", ErrUnsafe, path)
	case err != nil:
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	dirf := os.NewFile(uintptr(fd), path)
	if err := checkOwnFile(dirf, unix.S_IFDIR, dirMode, repair); err != nil {
		_ = dirf.Close()
		return nil, err
	}
	return dirf, nil
}

// checkOwnFile makes sure f is of type ifmt and owned by this user, and with
// repair that its mode is exactly perm.
func checkOwnFile(f *os.File, ifmt, perm uint32, repair bool) error {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return &fs.PathError{Op: "stat", Path: f.Name(), Err: err}
	}
	switch {
	case st.Mode&unix.S_IFMT != ifmt:
		return fmt.Errorf("%w: %s has the wrong file type", ErrUnsafe, f.Name())
	case int(st.Uid) != os.Geteuid():
		return fmt.Errorf("%w: %s is owned by uid %d, not %d", ErrUnsafe, f.Name(), st.Uid, os.Geteuid())
	case repair && st.Mode&0o7777 != perm:
		if err := unix.Fchmod(int(f.Fd()), perm); err != nil {
			return &fs.PathError{Op: "chmod", Path: f.Name(), Err: err}
		}
	}
	return nil
}

// openat opens name in directory dirfd without following a symlink.
func openat(dirfd int, name string, flags int) (int, error) {
	for {
		fd, err := unix.Openat(dirfd, name, flags|unix.O_NOFOLLOW|unix.O_CLOEXEC, fileMode)
		if !errors.Is(err, unix.EINTR) {
			return fd, err
		}
	}
}

func openAt(dir *os.File, name string, flags int) (*os.File, error) {
	fd, err := openat(int(dir.Fd()), name, flags)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: filepath.Join(dir.Name(), name), Err: err}
	}
	return os.NewFile(uintptr(fd), filepath.Join(dir.Name(), name)), nil
}

// Dir is the directory holding the reservations.
func (s *Store) Dir() string { return s.dir }

// Close releases the lock file and the directory.
func (s *Store) Close() error { return errors.Join(s.lockf.Close(), s.dirf.Close()) }

// withLock runs f while holding the network's exclusive flock.
func (s *Store) withLock(f func() error) error {
	if s.busy {
		return fmt.Errorf("%w: an earlier lock wait on %s timed out; open the store again", ErrBusy, s.lockf.Name())
	}
	if err := LockFile(s.lockf, LockTimeout); err != nil {
		s.busy = errors.Is(err, ErrBusy)
		return err
	}
	defer func() { _ = flock(int(s.lockf.Fd()), unix.LOCK_UN) }()
	traceAt("store-lock-wait")
	defer traceAt("store-locked")
	return f()
}

// TraceHook, set only by podnet's podnet_trace build, marks the end of a
// phase (the lock wait, the work under the lock) in its phase trace.
var TraceHook func(phase string)

func traceAt(phase string) {
	if TraceHook != nil {
		TraceHook(phase)
	}
}

// LockFile takes an exclusive flock on f, waiting at most timeout; past it,
// it fails with ErrBusy. The uncontended case is one system call. A contended
// wait blocks in the kernel (waiters are woken as soon as the lock is free,
// no polling) on a duplicate descriptor in another goroutine; if that wait
// outlives the timeout, the lock is dropped as soon as it is granted.
func LockFile(f *os.File, timeout time.Duration) error {
	fd := int(f.Fd())
	err := flock(fd, unix.LOCK_EX|unix.LOCK_NB)
	if !errors.Is(err, unix.EWOULDBLOCK) {
		if err != nil {
			return fmt.Errorf("locking %s: %w", f.Name(), err)
		}
		return nil
	}
	dup, err := unix.Dup(fd) // the same open file description: its flock is f's
	if err != nil {
		return fmt.Errorf("locking %s: %w", f.Name(), err)
	}
	var mu sync.Mutex
	abandoned := false
	granted := make(chan error, 1)
	go func() {
		defer func() { _ = unix.Close(dup) }()
		err := flock(dup, unix.LOCK_EX)
		mu.Lock()
		defer mu.Unlock()
		if abandoned {
			if err == nil {
				_ = flock(dup, unix.LOCK_UN)
			}
			return
		}
		granted <- err
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case err = <-granted:
	case <-timer.C:
		mu.Lock()
		abandoned = true
		mu.Unlock()
		select {
		case err = <-granted: // granted just before the deadline
		default:
			return fmt.Errorf("%w: %s held by another process for more than %s", ErrBusy, f.Name(), timeout)
		}
	}
	if err != nil {
		return fmt.Errorf("locking %s: %w", f.Name(), err)
	}
	return nil
}

func flock(fd, how int) error {
	for {
		err := unix.Flock(fd, how)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

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
	data, err := FormatReservation(a)
	if err != nil {
		return nil, err
	}
	var reserved []net.IP
	err = s.withLock(func() error {
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
		if err := s.writeRecord(attTempName, attName(a), formatAtt(ips)); err != nil {
			return fmt.Errorf("reserving for %s: %w", a, err)
		}
		crashPoint("index entry written")
		if err := s.link(data, ips); err != nil {
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

// exists reports whether the store has an entry name, of any type, without
// following it.
func (s *Store) exists(name string) (bool, error) {
	var st unix.Stat_t
	err := unix.Fstatat(int(s.dirf.Fd()), name, &st, unix.AT_SYMLINK_NOFOLLOW)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, unix.ENOENT):
		return false, nil
	}
	return false, &fs.PathError{Op: "stat", Path: filepath.Join(s.dir, name), Err: err}
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

// ParseLastReserved parses the content of a last-reserved record: one
// address in its canonical text form and a newline. Anything else is nil.
func ParseLastReserved(data []byte) net.IP {
	text, ok := strings.CutSuffix(string(data), "\n")
	if !ok {
		return nil
	}
	return parseCanonicalIP(text)
}

// parseCanonicalIP parses an address written as net.IP.String writes it (an
// IPv4 address is 4 bytes), or returns nil: another spelling of an address
// ("fd00:0::2", "::ffff:10.0.0.1") is not one of the store's names.
func parseCanonicalIP(text string) net.IP {
	ip := net.ParseIP(text)
	if ip == nil || ip.String() != text {
		return nil
	}
	if v4 := ip.To4(); v4 != nil {
		return v4
	}
	return ip
}

// setLastReserved records ip. It is only a hint: when it cannot be written,
// the next Reserve scans from the start, so errors are dropped.
func (s *Store) setLastReserved(p Pool, ip net.IP) {
	_ = s.writeRecord(recordTempName, lastReservedName(p), []byte(ip.String()+"\n"))
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

// Reservation is what read found under one address name: the attachment, or
// Err when the entry is corrupt (errNotRegular, errTooLarge or a parse error).
// A corrupt entry keeps its address from being handed out; GC removes the
// corrupt regular files, nothing ever removes a non-regular entry.
type Reservation struct {
	Attachment Attachment
	Err        error
}

var (
	errNotRegular = errors.New("not a regular file")
	errTooLarge   = fmt.Errorf("larger than %d bytes", MaxFileSize)
)

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

// remove deletes the store entry name, the caller holding the lock.
func (s *Store) remove(name string) error {
	if err := unix.Unlinkat(int(s.dirf.Fd()), name, 0); err != nil && !errors.Is(err, unix.ENOENT) {
		return &fs.PathError{Op: "remove", Path: filepath.Join(s.dir, name), Err: err}
	}
	return nil
}

// removeTemps removes the temporary files a locked operation killed part-way
// left behind (only locked operations write them, under fixed names): one
// unlinkat each, whatever the size of the store. What it cannot remove (a
// directory planted there) is ErrUnsafe: every write through that name
// would fail.
func (s *Store) removeTemps() error {
	var errs []error
	for _, name := range tempNames {
		if err := unix.Unlinkat(int(s.dirf.Fd()), name, 0); err != nil && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("%w: %s is in the way of podnet's temporary file: %w", ErrUnsafe, filepath.Join(s.dir, name), err))
		}
	}
	return errors.Join(errs...)
}

// repairMode sets a kept reservation file back to 0600. The 0700 directory
// already keeps other users out; this is for a person reading the store.
func (s *Store) repairMode(ip string) error {
	f, err := openAt(s.dirf, ip, unix.O_RDONLY)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	return checkOwnFile(f, unix.S_IFREG, fileMode, true)
}

// entries lists the store directory through a fresh descriptor of it.
func (s *Store) entries() ([]fs.DirEntry, error) {
	d, err := openAt(s.dirf, ".", unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return nil, fmt.Errorf("reading IPAM directory: %w", err)
	}
	defer func() { _ = d.Close() }()
	entries, err := d.ReadDir(-1)
	if err != nil {
		return nil, fmt.Errorf("reading IPAM directory: %w", err)
	}
	return entries, nil
}

// read loads every reservation, lists the index entries (att-*) and removes
// the temporary files crashed writers left (the locked ones, the
// ".last_reserved-<pid>" ones of podnet versions before the index, and the
// ".<record>-<pid>" ones of older unlocked WriteFiles whose process is gone). The
// caller holds the lock. Only GC, a missing index and an index entry in doubt
// come here. The files are opened relative to the directory and at most
// MaxFileSize+1 bytes of each are read.
func (s *Store) read() (map[string]Reservation, []string, error) {
	entries, err := s.entries()
	if err != nil {
		return nil, nil, err
	}
	dirfd := int(s.dirf.Fd())
	held := make(map[string]Reservation, len(entries))
	var atts []string
	buf := make([]byte, MaxFileSize+1)
	for _, e := range entries {
		name := e.Name()
		switch {
		case name == reservingTempName || name == attTempName || name == recordTempName ||
			strings.HasPrefix(name, "."+lastReservedFileName+"-") || deadWritersTemp(name):
			// Best effort: what cannot be removed (a directory planted there)
			// must not stop a DEL or GC; Reserve refuses to write through it.
			_ = unix.Unlinkat(dirfd, name, 0)
			continue
		case strings.HasPrefix(name, attPrefix):
			atts = append(atts, name)
			continue
		case parseCanonicalIP(name) == nil:
			continue // the lock, the records, or something that is not ours
		case !e.Type().IsRegular():
			held[name] = Reservation{Err: errNotRegular}
			continue
		}
		n, err := readFileAt(dirfd, name, buf)
		switch {
		case errors.Is(err, unix.ELOOP):
			held[name] = Reservation{Err: errNotRegular} // swapped for a symlink since ReadDir
		case err != nil:
			return nil, nil, fmt.Errorf("reading reservation: %w", err)
		case n > MaxFileSize:
			held[name] = Reservation{Err: errTooLarge}
		default:
			a, err := ParseReservation(buf[:n])
			held[name] = Reservation{Attachment: a, Err: err}
		}
	}
	return held, atts, nil
}

// readFileAt reads the file name in directory dirfd into buf and returns how
// many bytes it read: all of the file, or len(buf) when it is at least as
// large. Symlinks are not followed (ELOOP).
func readFileAt(dirfd int, name string, buf []byte) (int, error) {
	fd, err := openat(dirfd, name, unix.O_RDONLY|unix.O_NONBLOCK)
	if err != nil {
		return 0, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	defer func() { _ = unix.Close(fd) }()
	total := 0
	for total < len(buf) {
		n, err := unix.Read(fd, buf[total:])
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			return total, &fs.PathError{Op: "read", Path: name, Err: err}
		case n == 0:
			return total, nil
		}
		total += n
	}
	return total, nil
}

// ReadFile returns the content of the store file name, at most MaxFileSize
// bytes (a larger file is an error), without following a symlink.
func (s *Store) ReadFile(name string) ([]byte, error) {
	buf := make([]byte, MaxFileSize+1)
	n, err := readFileAt(int(s.dirf.Fd()), name, buf)
	switch {
	case err != nil:
		return nil, err
	case n > MaxFileSize:
		return nil, fmt.Errorf("%s: %w", name, errTooLarge)
	}
	return buf[:n], nil
}

// WriteFile replaces the store file name with data atomically (a temporary
// file renamed over it), so a crash leaves the old content or the new, and a
// symlink by that name is replaced, never followed. name must not be an
// address. It takes the store's lock, so the temporary file is the locked
// writers' fixed one, which the next ADD, DEL or GC removes if a kill leaves
// it (a per-process name would stay forever).
func (s *Store) WriteFile(name string, data []byte) error {
	if reservedName(name) || strings.ContainsAny(name, "/\x00") {
		return fmt.Errorf("%q is not a store record name: it %w", name, errReservedName)
	}
	return s.withLock(func() error { return s.writeRecord(recordTempName, name, data) })
}

// OpenLock opens (creating) the store file name for use with LockFile.
func (s *Store) OpenLock(name string) (*os.File, error) {
	if net.ParseIP(name) != nil || strings.HasPrefix(name, attPrefix) || strings.ContainsAny(name, "/\x00") {
		return nil, fmt.Errorf("%q is not a store lock name", name)
	}
	f, err := openAt(s.dirf, name, unix.O_RDWR|unix.O_CREAT)
	if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.EISDIR) {
		return nil, fmt.Errorf("%w: %s is a symlink or a directory: %w", ErrUnsafe, filepath.Join(s.dir, name), err)
	}
	if err != nil {
		return nil, err
	}
	if err := checkOwnFile(f, unix.S_IFREG, fileMode, true); err != nil {
		_ = f.Close()
		return nil, err
	}
	return f, nil
}

// writeNew creates the file name (O_EXCL, 0600 exactly) holding data; on
// failure it removes what it created.
func (s *Store) writeNew(name string, data []byte) error {
	dirfd := int(s.dirf.Fd())
	fd, err := openat(dirfd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL)
	if errors.Is(err, unix.EEXIST) {
		// Left by a crashed writer; the caller's lock or pid makes it stale.
		_ = unix.Unlinkat(dirfd, name, 0)
		fd, err = openat(dirfd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL)
	}
	if err != nil {
		return &fs.PathError{Op: "create", Path: filepath.Join(s.dir, name), Err: err}
	}
	werr := unix.Fchmod(fd, fileMode) // exactly 0600 whatever the umask
	if werr == nil {
		werr = writeAll(fd, data)
	}
	if err := errors.Join(werr, unix.Close(fd)); err != nil {
		_ = unix.Unlinkat(dirfd, name, 0)
		return &fs.PathError{Op: "write", Path: filepath.Join(s.dir, name), Err: err}
	}
	return nil
}

func writeAll(fd int, data []byte) error {
	for len(data) > 0 {
		n, err := unix.Write(fd, data)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

// FormatReservation is the content of a reservation file: the container ID
// and the interface name, one per line.
func FormatReservation(a Attachment) ([]byte, error) {
	if err := validField("container ID", a.ContainerID); err != nil {
		return nil, err
	}
	if err := validField("interface name", a.IfName); err != nil {
		return nil, err
	}
	data := []byte(a.ContainerID + "\n" + a.IfName + "\n")
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("reservation of %s: %w", a, errTooLarge)
	}
	return data, nil
}

// ParseReservation is the inverse of FormatReservation; anything else (empty,
// truncated, extra lines, NUL bytes) is an error.
func ParseReservation(data []byte) (Attachment, error) {
	if len(data) > MaxFileSize {
		return Attachment{}, errTooLarge
	}
	lines := strings.Split(string(data), "\n")
	if len(lines) != 3 || lines[2] != "" {
		return Attachment{}, fmt.Errorf("reservation is not two lines (container ID, interface): %q", truncate(data))
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

func truncate(data []byte) []byte {
	if len(data) > 64 {
		return data[:64]
	}
	return data
}
