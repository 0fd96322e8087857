package ipam

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"testing"
)

// exitedPID is the pid of a process that has exited.
func exitedPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skipf("cannot start a process: %v", err)
	}
	return cmd.Process.Pid
}

func TestDeadWritersTemp(t *testing.T) {
	dead, live := exitedPID(t), os.Getpid()
	tests := []struct {
		name string
		want bool
	}{
		{fmt.Sprintf(".bridge.pinned-%d", dead), true},
		{fmt.Sprintf(".rules.verified-%d", dead), true},
		{fmt.Sprintf(".bridge.pinned-%d", live), false}, // a write in progress
		{fmt.Sprintf("bridge.pinned-%d", dead), false},  // not a temporary name
		{fmt.Sprintf(".-%d", dead), false},
		{".bridge.pinned-", false},
		{".bridge.pinned-x1", false},
		{".bridge.pinned-007", false}, // not how a pid is written
		{".bridge.pinned-0", false},
		{".record", false},
		{"10.1.0.2", false},
	}
	for _, tt := range tests {
		if got := deadWritersTemp(tt.name); got != tt.want {
			t.Errorf("deadWritersTemp(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// WriteFile's temporary file is the locked writers' fixed one: a kill
// leaves it where the next Reserve or Release removes it. GC (ReleaseExcept)
// also removes an older podnet's per-process ones of dead processes.
func TestTemporaryFilesOfKilledWriters(t *testing.T) {
	s := openStore(t, t.TempDir(), mustPool(t, "10.1.0.0/24"))
	if err := s.WriteFile("bridge.pinned", []byte("x\n")); err != nil {
		t.Fatal(err)
	}
	if got := listDir(t, s.Dir()); !slices.Equal(got, []string{"bridge.pinned", lockFileName}) {
		t.Fatalf("after WriteFile: %v", got)
	}
	a := Attachment{ContainerID: "c1", IfName: "eth0"}
	for _, op := range []struct {
		name string
		run  func() error
	}{
		{"Reserve", func() error { _, err := s.Reserve(a); return err }},
		{"Release", func() error { _, err := s.Release(a); return err }},
	} {
		for _, tmp := range []string{reservingTempName, attTempName, recordTempName} {
			plant(t, s.Dir(), tmp, "half", "")
		}
		if err := op.run(); err != nil {
			t.Fatalf("%s: %v", op.name, err)
		}
		for _, name := range listDir(t, s.Dir()) {
			if name[0] == '.' {
				t.Errorf("%s left %s", op.name, name)
			}
		}
	}

	dead, live := exitedPID(t), os.Getpid()
	for _, name := range []string{fmt.Sprintf(".bridge.pinned-%d", dead), fmt.Sprintf(".rules.verified-%d", dead), fmt.Sprintf(".bridge.pinned-%d", live)} {
		plant(t, s.Dir(), name, "half", "")
	}
	if _, _, err := s.ReleaseExcept(nil); err != nil {
		t.Fatal(err)
	}
	var temps []string
	for _, name := range listDir(t, s.Dir()) {
		if name[0] == '.' {
			temps = append(temps, name)
		}
	}
	if want := []string{fmt.Sprintf(".bridge.pinned-%d", live)}; !slices.Equal(temps, want) {
		t.Fatalf("after GC the temporary files are %v, want %v (the live writer's only)", temps, want)
	}
}

// Release in a store whose index cannot be built (no marker: an older
// podnet's store, or one whose first ADD failed; and no room to write one)
// still releases, and releasing what was never reserved succeeds: removing
// needs no new space.
func TestReleaseWhenTheIndexCannotBeWritten(t *testing.T) {
	s := openStore(t, t.TempDir(), mustPool(t, "10.1.0.0/24"))
	a := Attachment{ContainerID: "c1", IfName: "eth0"}
	if _, err := s.Reserve(a); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{indexFileName, attName(a)} {
		if err := os.Remove(s.Dir() + "/" + name); err != nil {
			t.Fatal(err)
		}
	}
	// Every write of a record goes through .record: a directory there
	// fails them as ENOSPC would.
	if err := os.Mkdir(s.Dir()+"/"+recordTempName, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.Dir()+"/"+recordTempName+"/x", nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Release(Attachment{ContainerID: "never", IfName: "eth0"}); err != nil || len(got) != 0 {
		t.Fatalf("Release of an attachment never reserved = %v, %v; want nothing, no error", got, err)
	}
	if got, err := first(s.Release(a)); err != nil || got.String() != "10.1.0.2" {
		t.Fatalf("Release = %v, %v; want 10.1.0.2", got, err)
	}
	if slices.Contains(listDir(t, s.Dir()), "10.1.0.2") {
		t.Fatal("the address file stayed")
	}
}
