package ipam

// The disk backend: every access relative to the store directory's
// descriptor, following no symlink, reading at most MaxFileSize bytes,
// writing whole files that appear at once (written, then renamed or linked).

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

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

// unnamedFiles is false only in tests that take the path of a filesystem
// without O_TMPFILE.
var unnamedFiles = true

// writeUnnamed writes data to a new file in the store directory that has
// no name yet (O_TMPFILE, mode exactly 0600) and returns its descriptor,
// for linkUnnamed: the file appears whole or not at all, and one never
// linked vanishes with the process, so a kill leaves no temporary file.
// It returns -1 and no error when the filesystem cannot make such a file
// (the callers then write through a named temporary file).
func (s *Store) writeUnnamed(data []byte) (int, error) {
	if !unnamedFiles {
		return -1, nil
	}
	fd, err := unix.Openat(int(s.dirf.Fd()), ".", unix.O_TMPFILE|unix.O_WRONLY|unix.O_CLOEXEC, fileMode)
	switch {
	case errors.Is(err, unix.EOPNOTSUPP), errors.Is(err, unix.EISDIR), errors.Is(err, unix.EINVAL):
		return -1, nil // no O_TMPFILE in this kernel or filesystem
	case err != nil:
		return -1, &fs.PathError{Op: "create", Path: s.dir, Err: err}
	}
	werr := unix.Fchmod(fd, fileMode) // exactly 0600 whatever the umask
	if werr == nil {
		werr = writeAll(fd, data)
	}
	if werr != nil {
		_ = unix.Close(fd)
		return -1, &fs.PathError{Op: "write", Path: s.dir, Err: werr}
	}
	return fd, nil
}

// linkUnnamed gives the file of writeUnnamed the store name name; like
// link(2) it fails (EEXIST) when the name exists, of whatever type.
func (s *Store) linkUnnamed(fd int, name string) error {
	dirfd := int(s.dirf.Fd())
	err := unix.Linkat(fd, "", dirfd, name, unix.AT_EMPTY_PATH)
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EPERM) {
		// AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; through /proc it needs none.
		err = unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd), dirfd, name, unix.AT_SYMLINK_FOLLOW)
	}
	return err
}

// overwrite replaces the content of the store file name, which must exist
// and be a regular file of one link owned by this user, in place: written
// over its start, then cut to the new length. A process killed in between
// leaves the new content followed by the old one's tail, so only records
// whose readers refuse such a mix (last_reserved, a hint) are written so.
func (s *Store) overwrite(name string, data []byte) error {
	fd, err := openat(int(s.dirf.Fd()), name, unix.O_WRONLY|unix.O_NONBLOCK)
	if err != nil {
		return err
	}
	defer func() { _ = unix.Close(fd) }()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Nlink != 1 || int(st.Uid) != os.Geteuid() {
		return errNotRegular
	}
	n, err := unix.Pwrite(fd, data, 0)
	switch {
	case err != nil:
		return err
	case n != len(data):
		return io.ErrShortWrite
	case st.Size > int64(len(data)):
		return unix.Ftruncate(fd, int64(len(data)))
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
