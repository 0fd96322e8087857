package ipam

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"golang.org/x/sys/unix"
)

// tempNames are the locked writers' temporary files: Reserve writes through
// all of them, and removes what a killed writer left first.
var tempNames = []string{reservingTempName, attTempName, recordTempName}

// CheckFixedNames reports what in network name's store would make every
// Reserve fail though the directory itself is sound: its lock, or one of
// locks (other lock files kept in the store, such as podnet's rules.lock),
// that is a symlink, not a regular file or another user's; a directory
// where a temporary file or the bridge record goes. Like Inspect it takes no lock, follows
// nothing and writes nothing; a missing store has no such problem.
func CheckFixedNames(dataDir, name string, locks ...string) error {
	dirf, err := openStoreDir(dataDir, name, false, false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer func() { _ = dirf.Close() }()
	dirfd := int(dirf.Fd())
	stat := func(name string) (*unix.Stat_t, error) {
		var st unix.Stat_t
		err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
		switch {
		case errors.Is(err, unix.ENOENT):
			return nil, nil
		case err != nil:
			return nil, &fs.PathError{Op: "stat", Path: filepath.Join(dirf.Name(), name), Err: err}
		}
		return &st, nil
	}
	for _, l := range append([]string{lockFileName}, locks...) {
		st, err := stat(l)
		switch {
		case err != nil:
			return err
		case st == nil:
		case st.Mode&unix.S_IFMT != unix.S_IFREG:
			return fmt.Errorf("%w: the lock %s is a symlink or not a regular file", ErrUnsafe, filepath.Join(dirf.Name(), l))
		case int(st.Uid) != os.Geteuid():
			return fmt.Errorf("%w: the lock %s is owned by uid %d, not %d", ErrUnsafe, filepath.Join(dirf.Name(), l), st.Uid, os.Geteuid())
		}
	}
	// Every ADD writes through the temporary files (and records its bridge,
	// the first time or when it changed): a directory cannot be replaced.
	for _, t := range append(slices.Clone(tempNames), bridgeRecordName) {
		st, err := stat(t)
		switch {
		case err != nil:
			return err
		case st != nil && st.Mode&unix.S_IFMT == unix.S_IFDIR:
			return fmt.Errorf("%w: %s is a directory, in the way of a file podnet writes", ErrUnsafe, filepath.Join(dirf.Name(), t))
		}
	}
	return nil
}
