package ipam

// Store: one network's directory of reservations and what opens it. The
// allocator (Reserve, Release, GC's ReleaseExcept) is in allocator.go, the
// lock in lock.go, the descriptor-relative file I/O in disk.go, the index in
// index.go, and the on-disk format itself in package format.

import (
	"errors"
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"

	"github.com/cnigate/cnigate/plugin/ipam/format"
)

// The store's fixed names and modes, as package format specifies them.
const (
	lockFileName          = format.LockFile
	lastReservedFileName  = format.LastReserved
	lastReserved6FileName = format.LastReserved6
	// reservingTempName is where Reserve writes a reservation before linking
	// it to its address name. It starts with a dot so it never parses as an
	// address; one left by a crash is removed by the next locked operation.
	reservingTempName = ".reserving"
	dirMode           = format.DirMode
	fileMode          = format.FileMode

	// MaxFileSize bounds every read of a store file. A reservation is a
	// container ID (at most a few hundred bytes in practice) and an interface
	// name; a larger file is corrupt and never read whole.
	MaxFileSize = format.MaxFileSize
)

// Attachment names one container interface, the unit the CNI spec hands out
// and releases addresses by.
type Attachment = format.Attachment

var (
	errNotRegular = errors.New("not a regular file")
	errTooLarge   = format.ErrTooLarge
)

// FormatReservation is the content of a reservation file (format.EncodeReservation).
func FormatReservation(a Attachment) ([]byte, error) { return format.EncodeReservation(a) }

// ParseReservation is the inverse of FormatReservation (format.ParseReservation).
func ParseReservation(data []byte) (Attachment, error) { return format.ParseReservation(data) }

// ParseLastReserved parses the content of a last-reserved record (format.ParseLastReserved).
func ParseLastReserved(data []byte) net.IP { return format.ParseLastReserved(data) }

// parseCanonicalIP is the address a store entry name is, or nil (format.ParseAddressName).
func parseCanonicalIP(text string) net.IP { return format.ParseAddressName(text) }

// ErrPoolExhausted is returned by Reserve when every usable address of the
// subnet is taken.
var ErrPoolExhausted = errors.New("no free address")

// ErrAlreadyReserved is returned by Reserve when the attachment already holds
// an address.
var ErrAlreadyReserved = errors.New("attachment already has an address")

// ErrUnsafe is returned by Open when the store directory or its lock file is
// not what podnet made: a symlink, not a directory or regular file, or owned
// by another user.
var ErrUnsafe = errors.New("IPAM store is unsafe")

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

// Dir is the directory holding the reservations.
func (s *Store) Dir() string { return s.dir }

// Close releases the lock file and the directory.
func (s *Store) Close() error { return errors.Join(s.lockf.Close(), s.dirf.Close()) }

// Reservation is what read found under one address name: the attachment, or
// Err when the entry is corrupt (errNotRegular, errTooLarge or a parse error).
// A corrupt entry keeps its address from being handed out; GC removes the
// corrupt regular files, nothing ever removes a non-regular entry.
type Reservation struct {
	Attachment Attachment
	Err        error
}
