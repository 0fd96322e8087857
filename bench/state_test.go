package bench

import (
	"strings"
	"testing"
)

// TestFilesystemOf names the filesystems a report states: known ones by
// name (ext4 with whether it has a journal), others by magic number.
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
	if got := filesystemOf(t.TempDir()); strings.HasPrefix(got, "ext4") && !strings.HasSuffix(got, "a journal") {
		t.Errorf("filesystemOf(an ext4 dir) = %q, want it to say whether ext4 has a journal", got)
	}
}
