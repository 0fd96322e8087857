package bench

// Where the contenders' state lives. A plugin's IPAM store is files; what
// making and removing them costs is the filesystem's, and it varies between
// filesystems far more than the 10% the targets resolve: on the development
// VM, an ext4 without a journal, a file made within minutes of many
// deletions costs a scan of every recently deleted inode
// (fs/ext4/ialloc.c, recently_deleted), so podnet's store phase took 7x its
// CPU in bursts, and a run started after another measured identical
// contenders 1.26x apart (docs/measurements/2026-12-07-bench-order.md). So by
// default every contender's directory (its data dir, with a preload) is on
// a tmpfs the bench mounts: the figures compare the plugins' work, the same
// on every machine. A contender with "state": "host" keeps its directory on
// the filesystem of $TMPDIR instead, to show what a plugin pays on this
// machine's disk (make bench's podnet-disk), and the gate keeps both its
// contenders there, so that a store change that waits for the disk shows.
// A bench killed by SIGKILL leaves its tmpfs mounted under
// $TMPDIR/cnigate-bench-*/tmpfs (umount it); SIGINT and SIGTERM clean up.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// The places a contender's state can live (Options.State, Contender.State).
const (
	StateTmpfs = "tmpfs"
	StateHost  = "host"
)

var validStates = []string{StateTmpfs, StateHost}

// stateDirs are the run's two parents of contender directories.
type stateDirs struct {
	host  string // on $TMPDIR's filesystem
	tmpfs string // the mount point of the run's tmpfs; "" when none is mounted
}

// newStateDirs makes the run's directory under $TMPDIR and, when a
// contender keeps its state on tmpfs, mounts one inside it. On error
// nothing is left behind.
func newStateDirs(specs []spec) (*stateDirs, error) {
	tmp, err := os.MkdirTemp("", "cnigate-bench-")
	if err != nil {
		return nil, err
	}
	d := &stateDirs{host: tmp}
	for _, s := range specs {
		if s.state == StateTmpfs {
			d.tmpfs = filepath.Join(tmp, StateTmpfs)
			break
		}
	}
	if d.tmpfs == "" {
		return d, nil
	}
	if err := os.Mkdir(d.tmpfs, 0o700); err != nil {
		return nil, errors.Join(err, os.RemoveAll(tmp))
	}
	if err := unix.Mount("cnigate-bench", d.tmpfs, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0700"); err != nil {
		err = fmt.Errorf("mounting a tmpfs for the contenders' data dirs on %s (\"state\": \"host\" or -state host keeps them on $TMPDIR's filesystem instead): %w", d.tmpfs, err)
		return nil, errors.Join(err, os.RemoveAll(tmp))
	}
	return d, nil
}

// dir is the directory of a contender keeping its state in state.
func (d *stateDirs) dir(state, name string) string {
	if state == StateTmpfs {
		return filepath.Join(d.tmpfs, name)
	}
	return filepath.Join(d.host, name)
}

// remove unmounts the tmpfs (its files go with it) and removes the rest.
func (d *stateDirs) remove() error {
	var err error
	if d.tmpfs != "" {
		if uerr := unix.Unmount(d.tmpfs, unix.MNT_DETACH); uerr != nil {
			err = fmt.Errorf("unmounting %s: %w", d.tmpfs, uerr)
		}
	}
	return errors.Join(err, os.RemoveAll(d.host))
}

// describe says where state lives, for the report: "tmpfs", or "host" with
// the filesystem of $TMPDIR ("host: /tmp, ext4 without a journal").
func (d *stateDirs) describe(state string) string {
	if state == StateTmpfs {
		return StateTmpfs
	}
	return StateHost + ": " + filepath.Dir(d.host) + ", " + filesystemOf(d.host)
}

// Filesystem magic numbers (statfs(2) f_type) of the filesystems a node's
// /var/lib or /tmp is likely on.
var filesystemNames = map[int64]string{
	unix.EXT4_SUPER_MAGIC:      "ext4",
	unix.XFS_SUPER_MAGIC:       "xfs",
	unix.BTRFS_SUPER_MAGIC:     "btrfs",
	unix.TMPFS_MAGIC:           "tmpfs",
	unix.OVERLAYFS_SUPER_MAGIC: "overlayfs",
	unix.NFS_SUPER_MAGIC:       "nfs",
}

// filesystemOf names the filesystem path is on; for ext4 it says whether
// it has a journal (which decides whether new inodes scan recently deleted
// ones).
func filesystemOf(path string) string {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return "unknown filesystem (" + err.Error() + ")"
	}
	name, ok := filesystemNames[st.Type]
	switch {
	case !ok:
		return fmt.Sprintf("filesystem 0x%x", st.Type)
	case name != "ext4":
		return name
	}
	switch journaled, err := ext4Journal("/sys", path); {
	case err != nil:
		return "ext2/3/4" // the magic number is theirs; only ext4 says more
	case journaled:
		return "ext4 with a journal"
	default:
		return "ext4 without a journal"
	}
}

// ext4Journal reports whether the ext4 filesystem path is on has a journal,
// from sysfs (sys, "/sys" but in tests): ext4 names its journal's thread
// in fs/ext4/<device>/journal_task, "<none>" without one; the device's name
// is in dev/block/<major>:<minor>/uevent.
func ext4Journal(sys, path string) (bool, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return false, err
	}
	uevent, err := os.ReadFile(filepath.Join(sys, "dev/block", fmt.Sprintf("%d:%d", unix.Major(st.Dev), unix.Minor(st.Dev)), "uevent"))
	if err != nil {
		return false, err
	}
	var dev string
	for line := range strings.Lines(string(uevent)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "DEVNAME="); ok {
			dev = v
		}
	}
	if dev == "" || strings.Contains(dev, "/") {
		return false, fmt.Errorf("no device name in the uevent of %s", path)
	}
	task, err := os.ReadFile(filepath.Join(sys, "fs/ext4", dev, "journal_task"))
	if err != nil {
		return false, err
	}
	return strings.TrimSpace(string(task)) != "<none>", nil
}
