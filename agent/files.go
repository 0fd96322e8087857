package agent

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cnigate/cnigate/plugin/rules"
)

// WriteFileAtomic makes path hold data with mode perm, and reports whether it
// changed anything: an identical file is left alone (no write, no new
// inode), otherwise data goes to a temporary file in the same directory,
// fsynced, and renamed over path, so a reader (the runtime loading the
// conflist) sees the old file or the new one, never a part.
func WriteFileAtomic(path string, data []byte, perm fs.FileMode) (bool, error) {
	if cur, err := os.ReadFile(path); err == nil && bytes.Equal(cur, data) {
		if st, err := os.Stat(path); err == nil && st.Mode().Perm() == perm {
			return false, nil
		}
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, writeTempPrefix(filepath.Base(path)))
	if err != nil {
		return false, err
	}
	defer func() { _ = os.Remove(tmp.Name()) }() // a no-op after the rename
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return false, err
	}
	if err := finishTemp(tmp, perm); err != nil {
		return false, err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return false, err
	}
	return true, syncDir(dir)
}

// writeTempPrefix starts the name of WriteFileAtomic's temporary file for
// a file named base; sweepTemps removes leftovers by it.
func writeTempPrefix(base string) string { return "." + base + ".tmp-" }

// finishTemp sets the mode, fsyncs and closes a temporary file.
func finishTemp(tmp *os.File, perm fs.FileMode) error {
	if err := tmp.Chmod(perm); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return err
	}
	return tmp.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer func() { _ = d.Close() }()
	return d.Sync()
}

// Binaries are the CNI plugins the agent installs from its source directory.
var Binaries = []string{"podnet", "loopback", "portmap"}

// InstalledFile records, in <dataDir>/agent/, what the agent installed:
// uninstall removes a binary only while it still has the hash recorded.
const InstalledFile = "installed.json"

// Installed maps a binary's installed path to its SHA-256 (hex).
type Installed map[string]string

// fileID tells whether a file changed since it was hashed without reading
// it: a replaced or rewritten file has another inode, size or mtime.
type fileID struct {
	ino, size int64
	mtime     time.Time
}

func idOf(st fs.FileInfo) fileID {
	id := fileID{size: st.Size(), mtime: st.ModTime()}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		id.ino = int64(sys.Ino)
	}
	return id
}

// Installer installs the binaries of srcDir into dstDir and keeps them
// there. It hashes a file again only when its inode, size or mtime changed.
type Installer struct {
	SrcDir, DstDir, StateDir string
	Names                    []string

	mu     sync.Mutex
	hashes map[string]hashed // path -> last hash
}

type hashed struct {
	id  fileID
	sum string
}

// sum returns the SHA-256 of path; fs.ErrNotExist when it is missing.
func (in *Installer) sum(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", path)
	}
	id := idOf(st)
	if h, ok := in.hashes[path]; ok && h.id == id {
		return h.sum, nil
	}
	s, err := sha256File(path)
	if err != nil {
		return "", err
	}
	if in.hashes == nil {
		in.hashes = map[string]hashed{}
	}
	in.hashes[path] = hashed{id, s}
	return s, nil
}

func sha256File(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer func() { _ = f.Close() }()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Reconcile installs every binary that is missing from DstDir or differs
// from SrcDir's, and returns the names it (re)installed. What it installed
// is recorded in StateDir/installed.json.
func (in *Installer) Reconcile() ([]string, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	record, err := ReadInstalled(in.StateDir)
	if err != nil {
		return nil, err
	}
	var wrote []string
	var errs []error
	changed := false
	for _, name := range in.Names {
		src, dst := filepath.Join(in.SrcDir, name), filepath.Join(in.DstDir, name)
		want, err := in.sum(src)
		if err != nil {
			errs = append(errs, fmt.Errorf("source binary %s: %w", name, err))
			continue
		}
		if have, err := in.sum(dst); err == nil && have == want {
			if record[dst] != "" && record[dst] != want {
				// Ours, replaced by an identical copy of the current source.
				record[dst], changed = want, true
			}
			continue
		}
		// Missing, different, unreadable or not a regular file: (re)installed.
		// A regular file that is not what the agent installed there (another
		// loopback shipped with the node) is backed up first: uninstall puts
		// it back, or the node would be left without it.
		if err := in.backup(dst, record[dst]); err != nil {
			errs = append(errs, fmt.Errorf("backing up %s before replacing it: %w", dst, err))
			continue
		}
		if err := in.install(src, dst, want); err != nil {
			errs = append(errs, fmt.Errorf("installing %s: %w", dst, err))
			continue
		}
		record[dst], changed = want, true
		wrote = append(wrote, name)
	}
	if changed {
		if err := writeInstalled(in.StateDir, record); err != nil {
			errs = append(errs, err)
		}
	}
	return wrote, errors.Join(errs...)
}

// ReplacedDir is the directory, under the agent's state directory, of the
// binaries that were in the CNI bin dir before the agent replaced them:
// uninstall restores them.
const ReplacedDir = "replaced"

// backup copies dst to StateDir/replaced/<name> when dst is a regular file
// that is not the agent's (its hash is not ours, the one recorded). A file
// the agent installed, or no file, needs no backup.
func (in *Installer) backup(dst, ours string) error {
	st, err := os.Stat(dst) // a symlink's target is what the runtime runs
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return nil // a directory or device is not a binary to restore
	}
	if ours != "" {
		if have, err := sha256File(dst); err != nil || have == ours {
			return err
		}
	}
	dir := filepath.Join(in.StateDir, ReplacedDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	// Copied, not renamed: the state dir and the bin dir are different
	// mounts in the agent's container.
	return copyAtomic(dst, filepath.Join(dir, filepath.Base(dst)), tempPrefix(filepath.Base(dst)), st.Mode().Perm(), "")
}

// tempPrefix starts the name of the temporary copy of a binary; start-up
// and uninstall sweep what a killed agent left with it.
func tempPrefix(name string) string { return "." + name + ".podnet-agent-" }

// install copies src over dst (see copyAtomic), checked against want.
func (in *Installer) install(src, dst, want string) error {
	if err := os.MkdirAll(in.DstDir, 0o755); err != nil {
		return err
	}
	return copyAtomic(src, dst, tempPrefix(filepath.Base(dst)), 0o755, want)
}

// copyAtomic copies src to a temporary file (named prefix*) next to dst,
// checks its SHA-256 against want unless empty (a short or corrupted copy is
// never renamed into place), and renames it over dst.
func copyAtomic(src, dst, prefix string, perm fs.FileMode, want string) error {
	from, err := os.Open(src)
	if err != nil {
		return err
	}
	defer func() { _ = from.Close() }()
	dir := filepath.Dir(dst)
	tmp, err := os.CreateTemp(dir, prefix)
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(tmp, h), from); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := finishTemp(tmp, perm); err != nil {
		return err
	}
	if want != "" {
		// Read back what reached the disk, not what was sent.
		got, err := sha256File(tmp.Name())
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("copy has SHA-256 %s, want %s", got, want)
		}
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return err
	}
	return syncDir(dir)
}

// ReadInstalled reads the record of installed binaries (empty when absent).
func ReadInstalled(stateDir string) (Installed, error) {
	rec := Installed{}
	data, err := os.ReadFile(filepath.Join(stateDir, InstalledFile))
	if errors.Is(err, fs.ErrNotExist) {
		return rec, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, &rec); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(stateDir, InstalledFile), err)
	}
	return rec, nil
}

func writeInstalled(stateDir string, rec Installed) error {
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return err
	}
	data, err := json.MarshalIndent(rec, "", "  ") // encoding/json sorts map keys
	if err != nil {
		return err
	}
	_, err = WriteFileAtomic(filepath.Join(stateDir, InstalledFile), append(data, '\n'), 0o644)
	return err
}

// sweepTemps removes the temporary files an agent killed mid-write (SIGKILL,
// OOM, node reboot) left behind: the copies of binaries in binDir (and in
// the backups), the conflist's in confDir, the state files'. Only names with
// the agent's own fixed prefixes are touched. It returns what it removed.
func sweepTemps(binDir, confDir, stateDir string, names []string) ([]string, error) {
	var binPrefixes []string
	for _, n := range names {
		binPrefixes = append(binPrefixes, tempPrefix(n))
	}
	dirs := []struct {
		dir      string
		prefixes []string
	}{
		{binDir, binPrefixes},
		{filepath.Join(stateDir, ReplacedDir), binPrefixes},
		{confDir, []string{writeTempPrefix(ConflistName)}},
		{stateDir, []string{writeTempPrefix(InstalledFile), writeTempPrefix(rules.ReadyFile), writeTempPrefix(rules.DefectFile)}},
	}
	var removed []string
	var errs []error
	for _, d := range dirs {
		entries, err := os.ReadDir(d.dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, e := range entries {
			if !e.Type().IsRegular() || !hasAnyPrefix(e.Name(), d.prefixes) {
				continue
			}
			path := filepath.Join(d.dir, e.Name())
			if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
				continue
			}
			removed = append(removed, path)
		}
	}
	return removed, errors.Join(errs...)
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
