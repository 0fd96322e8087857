package ipam

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
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
	pool  Pool
	dirf  *os.File // the store directory, O_DIRECTORY|O_NOFOLLOW
	lockf *os.File
}

// Open returns the store of network name under dataDir. With create, dataDir
// and the store directory are made (0700) when missing; without it a missing
// directory is reported as fs.ErrNotExist, so read-only callers (DEL, CHECK,
// GC) change nothing. A store directory or lock file that is a symlink, of the
// wrong type or owned by another user is refused with ErrUnsafe; wrong modes
// are repaired (0700, 0600).
func Open(dataDir, name string, pool Pool, create bool) (*Store, error) {
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
	return &Store{dir: dirf.Name(), pool: pool, dirf: dirf, lockf: lockf}, nil
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
	if err := LockFile(s.lockf, LockTimeout); err != nil {
		return err
	}
	defer func() { _ = flock(int(s.lockf.Fd()), unix.LOCK_UN) }()
	return f()
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

// Reserve gives a the next free address of the pool after the one handed out
// last (round-robin, wrapping to the start), so a just-released address is
// not reused at once while conntrack and neighbour caches still remember it.
// It fails with ErrAlreadyReserved when a already holds one and with
// ErrPoolExhausted when none is free; in both cases nothing is written.
func (s *Store) Reserve(a Attachment) (net.IP, error) {
	var reserved net.IP
	err := s.withLock(func() error {
		held, err := s.read()
		if err != nil {
			return err
		}
		if ip := addressOf(held, a); ip != "" {
			return fmt.Errorf("%w: %s holds %s", ErrAlreadyReserved, a, ip)
		}
		start := s.pool.First()
		if last := s.lastReserved(); last != nil {
			if start = s.pool.Next(last); start == nil {
				start = s.pool.First()
			}
		}
		for i, ip := 0, start; i < s.pool.Size(); i++ {
			if _, taken := held[ip.String()]; !taken {
				if err := s.write(ip, a); err != nil {
					return err
				}
				s.setLastReserved(ip)
				reserved = ip
				return nil
			}
			if ip = s.pool.Next(ip); ip == nil {
				ip = s.pool.First()
			}
		}
		return fmt.Errorf("%w in %s: all %d addresses are reserved", ErrPoolExhausted, s.pool.Subnet, s.pool.Size())
	})
	return reserved, err
}

// lastReserved returns the address recorded by setLastReserved, or nil when
// there is none or it is unusable (then Reserve scans from the start).
func (s *Store) lastReserved() net.IP {
	data, err := s.ReadFile(lastReservedFileName)
	if err != nil {
		return nil
	}
	ip := ParseLastReserved(data)
	if ip == nil || !s.pool.Contains(ip) {
		return nil
	}
	return ip
}

// ParseLastReserved parses the content of the last-reserved record: one IPv4
// address and a newline. Anything else is nil.
func ParseLastReserved(data []byte) net.IP {
	text, ok := strings.CutSuffix(string(data), "\n")
	if !ok || strings.ContainsAny(text, "\n\x00") {
		return nil
	}
	ip := net.ParseIP(text).To4()
	if ip == nil || ip.String() != text {
		return nil
	}
	return ip
}

// setLastReserved records ip. It is only a hint: when it cannot be written,
// the next Reserve scans from the start, so errors are dropped.
func (s *Store) setLastReserved(ip net.IP) {
	_ = s.WriteFile(lastReservedFileName, []byte(ip.String()+"\n"))
}

// Release frees the address held by a and returns it, or nil when a holds
// none. Matching is by attachment, never by address text.
func (s *Store) Release(a Attachment) (net.IP, error) {
	var released net.IP
	err := s.withLock(func() error {
		held, err := s.read()
		if err != nil {
			return err
		}
		ip := addressOf(held, a)
		if ip == "" {
			return nil
		}
		if err := s.remove(ip); err != nil {
			return err
		}
		released = net.ParseIP(ip)
		return nil
	})
	return released, err
}

// Lookup returns the address held by a, or nil.
func (s *Store) Lookup(a Attachment) (net.IP, error) {
	var found net.IP
	err := s.withLock(func() error {
		held, err := s.read()
		if err != nil {
			return err
		}
		found = net.ParseIP(addressOf(held, a)) // nil for ""
		return nil
	})
	return found, err
}

// List returns every readable reservation, address to attachment. Corrupt
// ones (see Reservation) are left out.
func (s *Store) List() (map[string]Attachment, error) {
	var out map[string]Attachment
	err := s.withLock(func() error {
		held, err := s.read()
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
// valid), repairing the mode of the files it keeps. It returns the
// attachments it freed and the number of corrupt files removed.
func (s *Store) ReleaseExcept(keep map[Attachment]bool) (freed []Attachment, corrupt int, err error) {
	err = s.withLock(func() error {
		held, err := s.read()
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
			if r.Err != nil {
				corrupt++
			} else {
				freed = append(freed, r.Attachment)
			}
		}
		return nil
	})
	return freed, corrupt, err
}

// Inspect returns the number of entries of network name's store that are
// named by an address of pool, without the lock, without reading them and
// without writing anything (no lock file, no mode repair): an instant answer
// for STATUS, which must neither wait for other processes nor change the
// store. A missing store is fs.ErrNotExist; an unsafe one ErrUnsafe.
func Inspect(dataDir, name string, pool Pool) (int, error) {
	dirf, err := openStoreDir(dataDir, name, false, false)
	if err != nil {
		return 0, err
	}
	defer func() { _ = dirf.Close() }()
	s := &Store{dir: dirf.Name(), pool: pool, dirf: dirf}
	entries, err := s.entries()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range entries {
		if ip := net.ParseIP(e.Name()); ip != nil && pool.Contains(ip) {
			n++
		}
	}
	return n, nil
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

// addressOf returns the address a holds in held, or "". Reserve refuses a
// second address for an attachment, so there is at most one.
func addressOf(held map[string]Reservation, a Attachment) string {
	for ip, r := range held {
		if r.Err == nil && r.Attachment == a {
			return ip
		}
	}
	return ""
}

// remove deletes the reservation of ip. The caller holds the lock.
func (s *Store) remove(ip string) error {
	if err := unix.Unlinkat(int(s.dirf.Fd()), ip, 0); err != nil && !errors.Is(err, unix.ENOENT) {
		return &fs.PathError{Op: "remove", Path: filepath.Join(s.dir, ip), Err: err}
	}
	return nil
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

// read loads every reservation and removes the temporary files a crashed
// Reserve left (only Reserve writes them, under the lock the caller holds). The caller holds the lock. Every ADD and DEL reads one file per pod,
// so the files are opened relative to the directory, without building paths,
// fstat or poller registration (4 system calls a file), and at most
// MaxFileSize+1 bytes of each are read.
func (s *Store) read() (map[string]Reservation, error) {
	entries, err := s.entries()
	if err != nil {
		return nil, err
	}
	dirfd := int(s.dirf.Fd())
	held := make(map[string]Reservation, len(entries))
	buf := make([]byte, MaxFileSize+1)
	for _, e := range entries {
		if e.Name() == reservingTempName || strings.HasPrefix(e.Name(), "."+lastReservedFileName+"-") {
			if err := unix.Unlinkat(dirfd, e.Name(), 0); err != nil && !errors.Is(err, unix.ENOENT) {
				return nil, fmt.Errorf("removing a crashed reservation: %w", err)
			}
			continue
		}
		if net.ParseIP(e.Name()) == nil {
			continue // the lock, the records, or something that is not ours
		}
		if !e.Type().IsRegular() {
			held[e.Name()] = Reservation{Err: errNotRegular}
			continue
		}
		n, err := readFileAt(dirfd, e.Name(), buf)
		switch {
		case errors.Is(err, unix.ELOOP):
			held[e.Name()] = Reservation{Err: errNotRegular} // swapped for a symlink since ReadDir
		case err != nil:
			return nil, fmt.Errorf("reading reservation: %w", err)
		case n > MaxFileSize:
			held[e.Name()] = Reservation{Err: errTooLarge}
		default:
			a, err := ParseReservation(buf[:n])
			held[e.Name()] = Reservation{Attachment: a, Err: err}
		}
	}
	return held, nil
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
// address.
func (s *Store) WriteFile(name string, data []byte) error {
	if net.ParseIP(name) != nil || strings.HasPrefix(name, ".") || strings.ContainsAny(name, "/\x00") {
		return fmt.Errorf("%q is not a store record name", name)
	}
	tmp := fmt.Sprintf(".%s-%d", name, os.Getpid())
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

// OpenLock opens (creating) the store file name for use with LockFile.
func (s *Store) OpenLock(name string) (*os.File, error) {
	if net.ParseIP(name) != nil || strings.ContainsAny(name, "/\x00") {
		return nil, fmt.Errorf("%q is not a store lock name", name)
	}
	f, err := openAt(s.dirf, name, unix.O_RDWR|unix.O_CREAT)
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

// write records ip for a, the caller holding the lock. The reservation is
// written whole to a temporary file first and then linked to its address
// name: link(2) fails if the name exists (O_EXCL semantics) and makes the
// complete file appear at once, so a crash at any point leaves either no
// reservation or a whole one, never an empty file DEL cannot match. A
// temporary file left behind is removed by the next read.
func (s *Store) write(ip net.IP, a Attachment) error {
	data, err := FormatReservation(a)
	if err != nil {
		return fmt.Errorf("reserving %s: %w", ip, err)
	}
	if err := s.writeNew(reservingTempName, data); err != nil {
		return fmt.Errorf("reserving %s: %w", ip, err)
	}
	dirfd := int(s.dirf.Fd())
	defer func() { _ = unix.Unlinkat(dirfd, reservingTempName, 0) }()
	if err := unix.Linkat(dirfd, reservingTempName, dirfd, ip.String(), 0); err != nil {
		return fmt.Errorf("reserving %s: %w", ip, &fs.PathError{Op: "link", Path: filepath.Join(s.dir, ip.String()), Err: err})
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
