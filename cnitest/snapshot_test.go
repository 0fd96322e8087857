package cnitest

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestSnapshotDiff(t *testing.T) {
	tests := []struct {
		name          string
		before, after Snapshot
		want          []string
	}{
		{"equal", Snapshot{"host": {"a", "b"}}, Snapshot{"host": {"b", "a"}}, nil},
		{"a fact appeared", Snapshot{"host": {"a"}}, Snapshot{"host": {"a", "b"}}, []string{"+ host: b"}},
		{"a fact went away", Snapshot{"pod": {"a", "b"}}, Snapshot{"pod": {"a"}}, []string{"- pod: b"}},
		{"a label only later", Snapshot{}, Snapshot{"data dir": {"x"}}, []string{"+ data dir: x"}},
		{"changed", Snapshot{"host": {"mtu 1400"}}, Snapshot{"host": {"mtu 1500"}}, []string{"+ host: mtu 1500", "- host: mtu 1400"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.before.Diff(tt.after); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Diff = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDirFactsRecordsWithoutFollowingSymlinks(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "10.99.1.2"), []byte("ctr\neth0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	facts, err := dirFacts(dir)
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(facts, "\n")
	for _, want := range []string{"10.99.1.2 -rw------- size 9 sha256 ", "link L", "-> /etc"} {
		if !strings.Contains(joined, want) {
			t.Errorf("facts lack %q:\n%s", want, joined)
		}
	}
	if strings.Contains(joined, "passwd") {
		t.Errorf("followed the symlink:\n%s", joined)
	}
	absent, err := dirFacts(filepath.Join(dir, "none"))
	if err != nil || !reflect.DeepEqual(absent, []string{"absent"}) {
		t.Errorf("absent dir: %q, %v", absent, err)
	}
}
