package ipam

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestBridgeUsers(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	lock, err := LockDataDir(dataDir) // creates it
	if err != nil {
		t.Fatal(err)
	}
	_ = lock.Close()
	pool := mustPool(t, "10.1.0.0/24")
	store := func(name, bridge string, reserve bool) {
		t.Helper()
		s, err := Open(dataDir, name, []Pool{pool}, true)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = s.Close() }()
		if bridge != "" {
			if err := s.RecordBridge(bridge); err != nil {
				t.Fatal(err)
			}
		}
		if reserve {
			if _, err := s.Reserve(Attachment{ContainerID: "c-" + name, IfName: "eth0"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	store("self", "cni0", true)
	store("user", "cni0", true)
	store("drained", "cni0", false)      // its pods are gone: the bridge is free for it
	store("elsewhere", "cni1", true)     // another segment
	store("older", "", true)             // a store from before the record: not counted
	plant(t, dataDir, "a-file", "x", "") // not a store
	if err := os.Symlink(filepath.Join(dataDir, "user"), filepath.Join(dataDir, "link")); err != nil {
		t.Fatal(err)
	}
	got, err := BridgeUsers(dataDir, "cni0", "self")
	if err != nil || !slices.Equal(got, []string{"user"}) {
		t.Fatalf("BridgeUsers = %v, %v; want [user]", got, err)
	}
	if got, err := BridgeUsers(filepath.Join(dataDir, "missing"), "cni0", "self"); err != nil || got != nil {
		t.Fatalf("BridgeUsers of a missing data dir = %v, %v", got, err)
	}
	// Recording again writes nothing; a changed bridge is recorded.
	s, err := Open(dataDir, "self", []Pool{pool}, false)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	for _, b := range []string{"cni0", "cni9"} {
		if err := s.RecordBridge(b); err != nil {
			t.Fatal(err)
		}
		if data, err := s.ReadFile(bridgeRecordName); err != nil || string(data) != b+"\n" {
			t.Fatalf("bridge record = %q, %v; want %s", data, err, b)
		}
	}
}
