package ipam

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A planted entry where the store keeps a lock or writes a temporary file
// makes every Reserve fail (ErrUnsafe, naming it), and CheckFixedNames,
// which STATUS asks, sees it without writing anything.
func TestPlantedEntriesInTheStoresNames(t *testing.T) {
	plantDir := func(t *testing.T, path string) {
		if err := os.Mkdir(path, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(path, "x"), nil, 0o600); err != nil { // not removable by rmdir either
			t.Fatal(err)
		}
	}
	plantLink := func(t *testing.T, path string) {
		if err := os.Symlink(path+"-nowhere", path); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		entry   string
		plant   func(*testing.T, string)
		locks   []string
		reserve bool // Reserve fails too (the others fail at Open or in the caller)
	}{
		{name: ".reserving a directory", entry: reservingTempName, plant: plantDir, reserve: true},
		{name: ".att a directory", entry: attTempName, plant: plantDir, reserve: true},
		{name: ".record a directory", entry: recordTempName, plant: plantDir, reserve: true},
		{name: "lock a directory", entry: lockFileName, plant: plantDir},
		{name: "lock a dangling symlink", entry: lockFileName, plant: plantLink},
		{name: "another lock a dangling symlink", entry: "rules.lock", plant: plantLink, locks: []string{"rules.lock"}},
		{name: "another lock a directory", entry: "rules.lock", plant: plantDir, locks: []string{"rules.lock"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dataDir := t.TempDir()
			pool := mustPool(t, "10.1.0.0/24")
			s, err := Open(dataDir, "net", []Pool{pool}, true)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = s.Close() }()
			if err := CheckFixedNames(dataDir, "net", tt.locks...); err != nil {
				t.Fatalf("a sound store: %v", err)
			}
			path := filepath.Join(s.Dir(), tt.entry)
			_ = os.Remove(path)
			tt.plant(t, path)
			before := listDir(t, s.Dir())
			err = CheckFixedNames(dataDir, "net", tt.locks...)
			if !errors.Is(err, ErrUnsafe) || !strings.Contains(err.Error(), tt.entry) {
				t.Fatalf("CheckFixedNames = %v, want ErrUnsafe naming %s", err, tt.entry)
			}
			if tt.reserve {
				if _, err := s.Reserve(Attachment{ContainerID: "c1", IfName: "eth0"}); !errors.Is(err, ErrUnsafe) || !strings.Contains(err.Error(), tt.entry) {
					t.Fatalf("Reserve = %v, want ErrUnsafe naming %s", err, tt.entry)
				}
			}
			if len(tt.locks) > 0 {
				if _, err := s.OpenLock(tt.entry); !errors.Is(err, ErrUnsafe) {
					t.Fatalf("OpenLock = %v, want ErrUnsafe", err)
				}
			}
			if after := listDir(t, s.Dir()); len(after) != len(before) {
				t.Fatalf("the store changed: %v, then %v", before, after)
			}
		})
	}
	if err := CheckFixedNames(t.TempDir(), "missing"); err != nil {
		t.Fatalf("a missing store: %v", err)
	}
}
