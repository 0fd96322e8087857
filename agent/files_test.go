package agent

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"
)

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Sys().(*syscall.Stat_t).Ino
}

func TestWriteFileAtomic(t *testing.T) {
	tests := []struct {
		name        string
		before      *string // nil: no file
		perm        os.FileMode
		data        string
		wantChanged bool
	}{
		{"new file", nil, 0o644, "a", true},
		{"same content and mode: no write", ptr("a"), 0o644, "a", false},
		{"other content", ptr("a"), 0o644, "b", true},
		{"other mode", ptr("a"), 0o600, "a", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "f")
			var ino uint64
			if tt.before != nil {
				if err := os.WriteFile(path, []byte(*tt.before), 0o644); err != nil {
					t.Fatal(err)
				}
				ino = inode(t, path)
			}
			changed, err := WriteFileAtomic(path, []byte(tt.data), tt.perm)
			if err != nil || changed != tt.wantChanged {
				t.Fatalf("changed %v, %v; want %v", changed, err, tt.wantChanged)
			}
			got, err := os.ReadFile(path)
			if err != nil || string(got) != tt.data {
				t.Fatalf("content %q, %v", got, err)
			}
			st, _ := os.Stat(path)
			if st.Mode().Perm() != tt.perm {
				t.Fatalf("mode %v, want %v", st.Mode().Perm(), tt.perm)
			}
			// Changed: a new inode (renamed into place, never rewritten in
			// place); unchanged: the same one.
			if tt.before != nil && (inode(t, path) != ino) != tt.wantChanged {
				t.Fatalf("inode changed %v, want %v", inode(t, path) != ino, tt.wantChanged)
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 1 {
				t.Fatalf("temporary files left: %v", entries)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func TestInstallerReconcile(t *testing.T) {
	tests := []struct {
		name      string
		dst       map[string]string // the CNI bin dir before
		record    bool              // an installed.json from an earlier run
		wantWrote []string
		wantRec   []string // binaries recorded as installed after
		wantErr   bool
	}{
		{"missing", nil, false, []string{"podnet", "loopback"}, []string{"loopback", "podnet"}, false},
		{"differs", map[string]string{"podnet": "old podnet", "loopback": "loopback v1"}, false, []string{"podnet"}, []string{"podnet"}, false},
		{"same: no write", map[string]string{"podnet": "podnet v1", "loopback": "loopback v1"}, false, nil, nil, false},
		{"same, installed earlier: still recorded", map[string]string{"podnet": "podnet v1", "loopback": "loopback v1"}, true, nil, []string{"loopback", "podnet"}, false},
		// A directory in the way cannot be renamed over: reported, not hidden.
		{"a directory in the way", map[string]string{"podnet": "<dir>", "loopback": "loopback v1"}, false, nil, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			in := &Installer{SrcDir: filepath.Join(root, "src"), DstDir: filepath.Join(root, "bin"),
				StateDir: filepath.Join(root, "state"), Names: []string{"podnet", "loopback"}}
			src := map[string]string{"podnet": "podnet v1", "loopback": "loopback v1"}
			for _, d := range []string{in.SrcDir, in.DstDir} {
				if err := os.MkdirAll(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			for name, content := range src {
				if err := os.WriteFile(filepath.Join(in.SrcDir, name), []byte(content), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			inodes := map[string]uint64{}
			for name, content := range tt.dst {
				path := filepath.Join(in.DstDir, name)
				if content == "<dir>" {
					if err := os.Mkdir(path, 0o755); err != nil {
						t.Fatal(err)
					}
					continue
				}
				if err := os.WriteFile(path, []byte(content), 0o755); err != nil {
					t.Fatal(err)
				}
				inodes[name] = inode(t, path)
			}
			if tt.record {
				rec := Installed{}
				for name := range src {
					rec[filepath.Join(in.DstDir, name)] = sha(src[name])
				}
				if err := writeInstalled(in.StateDir, rec); err != nil {
					t.Fatal(err)
				}
			}
			wrote, err := in.Reconcile()
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want one: %v", err, tt.wantErr)
			}
			if !slices.Equal(wrote, tt.wantWrote) {
				t.Fatalf("wrote %v, want %v", wrote, tt.wantWrote)
			}
			for name, content := range src {
				path := filepath.Join(in.DstDir, name)
				if tt.dst[name] == "<dir>" {
					continue
				}
				got, err := os.ReadFile(path)
				if err != nil || string(got) != content {
					t.Fatalf("%s: %q, %v", name, got, err)
				}
				st, _ := os.Stat(path)
				if st.Mode().Perm() != 0o755 {
					t.Fatalf("%s mode %v", name, st.Mode())
				}
				if ino, ok := inodes[name]; ok && !slices.Contains(wrote, name) && inode(t, path) != ino {
					t.Fatalf("%s rewritten although it was the same", name)
				}
			}
			rec, err := ReadInstalled(in.StateDir)
			if err != nil {
				t.Fatal(err)
			}
			var recorded []string
			for path, sum := range rec {
				name := filepath.Base(path)
				if sum != sha(src[name]) {
					t.Fatalf("%s recorded with hash %s", path, sum)
				}
				recorded = append(recorded, name)
			}
			slices.Sort(recorded)
			if !slices.Equal(recorded, tt.wantRec) {
				t.Fatalf("recorded %v, want %v", recorded, tt.wantRec)
			}
			// A second pass finds everything in place.
			if !tt.wantErr {
				if wrote, err := in.Reconcile(); err != nil || len(wrote) != 0 {
					t.Fatalf("second pass wrote %v, %v", wrote, err)
				}
			}
		})
	}
}

// TestInstallerNoticesReplacement: a binary replaced behind the agent's back
// (an OS package upgrade) with the same size is found by its new inode and
// mtime, and re-installed.
func TestInstallerNoticesReplacement(t *testing.T) {
	root := t.TempDir()
	in := &Installer{SrcDir: filepath.Join(root, "src"), DstDir: filepath.Join(root, "bin"), StateDir: filepath.Join(root, "state"), Names: []string{"podnet"}}
	_ = os.MkdirAll(in.SrcDir, 0o755)
	if err := os.WriteFile(filepath.Join(in.SrcDir, "podnet"), []byte("podnet v1"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := in.Reconcile(); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(in.DstDir, "podnet")
	tmp := dst + ".pkg"
	if err := os.WriteFile(tmp, []byte("podnet v0"), 0o755); err != nil {
		t.Fatal(err)
	}
	_ = os.Chtimes(tmp, time.Now().Add(time.Hour), time.Now().Add(time.Hour))
	if err := os.Rename(tmp, dst); err != nil {
		t.Fatal(err)
	}
	if wrote, err := in.Reconcile(); err != nil || !slices.Equal(wrote, []string{"podnet"}) {
		t.Fatalf("wrote %v, %v; want podnet re-installed", wrote, err)
	}
	if err := os.Remove(dst); err != nil {
		t.Fatal(err)
	}
	if wrote, err := in.Reconcile(); err != nil || !slices.Equal(wrote, []string{"podnet"}) {
		t.Fatalf("wrote %v, %v; want the deleted podnet re-installed", wrote, err)
	}
}

// TestInstallThenUninstallBinaries: uninstall leaves the CNI bin dir as the
// agent found it: a binary it added goes, one it replaced comes back with
// its bytes and mode, one changed since it was installed stays.
func TestInstallThenUninstallBinaries(t *testing.T) {
	tests := []struct {
		name   string
		before map[string]string // the bin dir before the agent; "" = absent
		after  map[string]string // changes behind the agent's back after install
		want   map[string]string // the bin dir after uninstall; "" = absent
	}{
		{"absent before: removed", nil, nil, map[string]string{"podnet": "", "loopback": ""}},
		{"other loopback before: restored", map[string]string{"loopback": "the node's loopback"}, nil,
			map[string]string{"podnet": "", "loopback": "the node's loopback"}},
		{"other podnet and loopback before: both restored", map[string]string{"podnet": "old podnet", "loopback": "the node's loopback"}, nil,
			map[string]string{"podnet": "old podnet", "loopback": "the node's loopback"}},
		{"same loopback before: not the agent's, left", map[string]string{"loopback": "loopback v1"}, nil,
			map[string]string{"podnet": "", "loopback": "loopback v1"}},
		{"ours deleted since: the original still restored", map[string]string{"loopback": "the node's loopback"}, map[string]string{"loopback": ""},
			map[string]string{"podnet": "", "loopback": "the node's loopback"}},
		{"changed since installed: left", map[string]string{"loopback": "the node's loopback"}, map[string]string{"loopback": "loopback v9"},
			map[string]string{"podnet": "", "loopback": "loopback v9"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			in := &Installer{SrcDir: filepath.Join(root, "src"), DstDir: filepath.Join(root, "bin"),
				StateDir: filepath.Join(root, "state"), Names: []string{"podnet", "loopback"}}
			for _, d := range []string{in.SrcDir, in.DstDir} {
				if err := os.MkdirAll(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			for name, content := range map[string]string{"podnet": "podnet v1", "loopback": "loopback v1"} {
				if err := os.WriteFile(filepath.Join(in.SrcDir, name), []byte(content), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			for name, content := range tt.before {
				if err := os.WriteFile(filepath.Join(in.DstDir, name), []byte(content), 0o750); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := in.Reconcile(); err != nil {
				t.Fatal(err)
			}
			for name, content := range tt.after {
				path := filepath.Join(in.DstDir, name)
				var err error
				if content == "" {
					err = os.Remove(path)
				} else {
					err = os.WriteFile(path, []byte(content), 0o755)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if err := uninstallBinaries(in.StateDir, in.DstDir, testLog(t)); err != nil {
				t.Fatal(err)
			}
			for name, want := range tt.want {
				path := filepath.Join(in.DstDir, name)
				got, err := os.ReadFile(path)
				switch {
				case want == "" && !errors.Is(err, fs.ErrNotExist):
					t.Errorf("%s: %q, %v; want it removed", name, got, err)
				case want != "" && (err != nil || string(got) != want):
					t.Errorf("%s: %q, %v; want %q", name, got, err, want)
				case want != "" && tt.before[name] == want:
					if st, _ := os.Stat(path); st.Mode().Perm() != 0o750 {
						t.Errorf("%s restored with mode %v, want 0750", name, st.Mode())
					}
				}
			}
			if _, err := os.Stat(filepath.Join(in.StateDir, InstalledFile)); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("installed.json still there: %v", err)
			}
		})
	}
}

// TestUninstallKeepsRecordOfWhatFailed: a binary uninstall could not remove
// stays in installed.json (the others go), so a later uninstall still
// knows it is the agent's; the file goes once nothing is left in it.
func TestUninstallKeepsRecordOfWhatFailed(t *testing.T) {
	root := t.TempDir()
	bin, state := filepath.Join(root, "bin"), filepath.Join(root, "state")
	podnet, loopback := filepath.Join(bin, "podnet"), filepath.Join(bin, "loopback")
	// A directory where loopback was: reading it fails, as a removal would.
	if err := os.MkdirAll(filepath.Join(loopback, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(podnet, []byte("podnet v1"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := writeInstalled(state, Installed{podnet: sha("podnet v1"), loopback: sha("loopback v1")}); err != nil {
		t.Fatal(err)
	}
	if err := uninstallBinaries(state, bin, testLog(t)); err == nil {
		t.Fatal("no error for the binary that could not be read")
	}
	if _, err := os.Stat(podnet); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("podnet not removed: %v", err)
	}
	rec, err := ReadInstalled(state)
	if err != nil || len(rec) != 1 || rec[loopback] != sha("loopback v1") {
		t.Fatalf("installed.json %v, %v; want only loopback left", rec, err)
	}

	if err := os.RemoveAll(loopback); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(loopback, []byte("loopback v1"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := uninstallBinaries(state, bin, testLog(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(loopback); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("loopback not removed on the second uninstall: %v", err)
	}
	if _, err := os.Stat(filepath.Join(state, InstalledFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("installed.json left when empty: %v", err)
	}
}

// TestSweepTemps: what an agent killed mid-write leaves (temporary copies
// of binaries, of the conflist, of its state files) goes; everything else
// in those directories, other prefixes included, stays.
func TestSweepTemps(t *testing.T) {
	root := t.TempDir()
	bin, conf, state := filepath.Join(root, "bin"), filepath.Join(root, "conf"), filepath.Join(root, "state")
	tests := []struct {
		path  string
		swept bool
	}{
		{filepath.Join(bin, ".podnet.podnet-agent-123456"), true},
		{filepath.Join(bin, ".loopback.podnet-agent-9"), true},
		{filepath.Join(bin, ".portmap.podnet-agent-1"), true},
		{filepath.Join(state, ReplacedDir, ".loopback.podnet-agent-7"), true},
		{filepath.Join(conf, ".10-podnet.conflist.tmp-42"), true},
		{filepath.Join(state, ".installed.json.tmp-5"), true},
		{filepath.Join(state, ".ready.tmp-5"), true},
		{filepath.Join(bin, "podnet"), false},
		{filepath.Join(bin, ".bridge.podnet-agent-1"), false}, // not a binary the agent installs
		{filepath.Join(bin, ".podnet.other-tool-1"), false},
		{filepath.Join(conf, "10-podnet.conflist"), false},
		{filepath.Join(conf, ".20-other.conflist.tmp-1"), false},
		{filepath.Join(state, InstalledFile), false},
		{filepath.Join(state, ReplacedDir, "loopback"), false},
	}
	for _, tt := range tests {
		if err := os.MkdirAll(filepath.Dir(tt.path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(tt.path, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	removed, err := sweepTemps(bin, conf, state, Binaries)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		_, err := os.Stat(tt.path)
		if gone := errors.Is(err, fs.ErrNotExist); gone != tt.swept {
			t.Errorf("%s: removed %v, want %v", tt.path, gone, tt.swept)
		}
		if slices.Contains(removed, tt.path) != tt.swept {
			t.Errorf("%s: reported removed %v, want %v", tt.path, !tt.swept, tt.swept)
		}
	}
	// Missing directories are not an error.
	if _, err := sweepTemps(filepath.Join(root, "none"), filepath.Join(root, "none"), filepath.Join(root, "none"), Binaries); err != nil {
		t.Fatal(err)
	}
}
