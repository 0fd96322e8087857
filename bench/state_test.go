package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestFilesystemOf names the filesystems a report states: known ones by
// name, others by magic number.
func TestFilesystemOf(t *testing.T) {
	for _, tc := range []struct{ path, want string }{
		{"/dev/shm", "tmpfs"},
		{"/proc", "filesystem 0x9fa0"},
		{"/no/such/dir", "unknown filesystem (no such file or directory)"},
	} {
		if got := filesystemOf(tc.path); got != tc.want {
			t.Errorf("filesystemOf(%s) = %q, want %q", tc.path, got, tc.want)
		}
	}
}

// TestExt4Journal reads whether an ext4 has a journal from a sysfs made up
// for the device of a test directory: ext4's journal_task, "<none>" without.
func TestExt4Journal(t *testing.T) {
	dir := t.TempDir()
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, uevent, task string
		want, wantErr      bool
	}{
		{name: "journal", uevent: "MAJOR=8\nDEVNAME=sdz1\nDEVTYPE=partition\n", task: "jbd2/sdz1-8\n", want: true},
		{name: "external journal", uevent: "DEVNAME=sdz1\n", task: "jbd2/sdz1\n", want: true},
		{name: "none", uevent: "DEVNAME=sdz1\n", task: "<none>\n"},
		{name: "no ext4 entry (ext2 or ext3)", uevent: "DEVNAME=sdz1\n", wantErr: true},
		{name: "no device name", uevent: "MAJOR=8\n", task: "<none>\n", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sys := t.TempDir()
			block := filepath.Join(sys, "dev/block", fmt.Sprintf("%d:%d", unix.Major(st.Dev), unix.Minor(st.Dev)))
			write(t, filepath.Join(block, "uevent"), tc.uevent)
			if tc.task != "" {
				write(t, filepath.Join(sys, "fs/ext4/sdz1/journal_task"), tc.task)
			}
			got, err := ext4Journal(sys, dir)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("ext4Journal = %v, %v; want %v, error %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestStateDirs: a tmpfs contender's directory is on the run's own tmpfs,
// a host one's on $TMPDIR's filesystem, and remove leaves neither the
// mount nor a directory.
func TestStateDirs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: mounts a tmpfs (sudo go test ./bench -run TestStateDirs)")
	}
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	d, err := newStateDirs([]spec{{name: "a", state: StateTmpfs}, {name: "b", state: StateHost}})
	if err != nil {
		t.Fatal(err)
	}
	removed := false
	t.Cleanup(func() {
		if !removed {
			_ = d.remove()
		}
	})
	fsType := func(path string) int64 {
		var st unix.Statfs_t
		if err := unix.Statfs(path, &st); err != nil {
			t.Fatal(err)
		}
		return st.Type
	}
	for _, c := range []struct{ state, name string }{{StateTmpfs, "a"}, {StateHost, "b"}} {
		dir := d.dir(c.state, c.name)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		want := fsType(tmp)
		if c.state == StateTmpfs {
			want = unix.TMPFS_MAGIC
		}
		if got := fsType(dir); got != want || !strings.HasPrefix(dir, tmp+"/") {
			t.Errorf("%s contender's dir %s: filesystem 0x%x, want 0x%x, under %s", c.state, dir, got, want, tmp)
		}
	}
	if want := "host: " + tmp + ", "; !strings.HasPrefix(d.describe(StateHost), want) || d.describe(StateTmpfs) != StateTmpfs {
		t.Errorf("describe: %q, %q", d.describe(StateHost), d.describe(StateTmpfs))
	}
	removed = true
	if err := d.remove(); err != nil {
		t.Fatal(err)
	}
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 || strings.Contains(string(mounts), d.tmpfs) {
		t.Errorf("after remove: %v left in TMPDIR, tmpfs still mounted: %v", left, strings.Contains(string(mounts), d.tmpfs))
	}
}
