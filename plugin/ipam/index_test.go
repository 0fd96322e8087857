package ipam

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var (
	v4Pool = "10.1.0.0/24"
	v6Pool = "fd00:1::/64"
)

func dualStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.TempDir(), "net", []Pool{mustPool(t, v4Pool), mustPool(t, v6Pool)}, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestDualStackReserveAndRelease(t *testing.T) {
	s := dualStore(t)
	a := Attachment{ContainerID: "c1", IfName: "eth0"}
	b := Attachment{ContainerID: "c2", IfName: "eth0"}
	ips, err := s.Reserve(a)
	if err != nil || fmt.Sprint(ips) != "[10.1.0.2 fd00:1::2]" {
		t.Fatalf("Reserve = %v, %v; want one address per family, in pool order", ips, err)
	}
	for _, ip := range ips {
		data, err := os.ReadFile(filepath.Join(s.Dir(), ip.String()))
		if err != nil || string(data) != "c1\neth0\n" {
			t.Fatalf("reservation %s holds %q, %v", ip, data, err)
		}
	}
	if att, err := os.ReadFile(filepath.Join(s.Dir(), attName(a))); err != nil || string(att) != "10.1.0.2\nfd00:1::2\n" {
		t.Fatalf("index entry holds %q, %v", att, err)
	}
	if _, err := s.Reserve(a); !errors.Is(err, ErrAlreadyReserved) {
		t.Fatalf("second Reserve: %v, want ErrAlreadyReserved", err)
	}
	if got, err := s.Lookup(a); err != nil || fmt.Sprint(got) != fmt.Sprint(ips) {
		t.Fatalf("Lookup = %v, %v", got, err)
	}
	if got, err := s.Release(a); err != nil || fmt.Sprint(got) != fmt.Sprint(ips) {
		t.Fatalf("Release = %v, %v; want both", got, err)
	}
	// Round-robin in each family.
	if got, err := s.Reserve(b); err != nil || fmt.Sprint(got) != "[10.1.0.3 fd00:1::3]" {
		t.Fatalf("Reserve after Release = %v, %v", got, err)
	}
	if left := listDir(t, s.Dir()); fmt.Sprint(left) != fmt.Sprint([]string{"10.1.0.3", attName(b), "fd00:1::3", indexFileName, lastReservedFileName, lastReserved6FileName, lockFileName}) {
		t.Fatalf("store holds %v", left)
	}
	if counts, err := Inspect(filepath.Dir(s.Dir()), "net", s.pools); err != nil || fmt.Sprint(counts) != "[1 1]" {
		t.Fatalf("Inspect = %v, %v", counts, err)
	}
}

func TestReserveWritesNothingWhenOneFamilyIsFull(t *testing.T) {
	s, err := Open(t.TempDir(), "net", []Pool{mustPool(t, v4Pool), mustPool(t, "fd00:1::/126")}, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	for _, id := range []string{"c1", "c2"} {
		if _, err := s.Reserve(Attachment{ContainerID: id, IfName: "eth0"}); err != nil {
			t.Fatal(err)
		}
	}
	before := listDir(t, s.Dir())
	_, err = s.Reserve(Attachment{ContainerID: "c3", IfName: "eth0"})
	var full *PoolExhaustedError
	if !errors.As(err, &full) || !errors.Is(err, ErrPoolExhausted) || full.Subnet.String() != "fd00:1::/126" {
		t.Fatalf("Reserve with the IPv6 pool full: %v, want ErrPoolExhausted naming fd00:1::/126", err)
	}
	if after := listDir(t, s.Dir()); !slices.Equal(before, after) {
		t.Fatalf("failed Reserve changed the store: %v -> %v", before, after)
	}
}

func TestLargeIPv6PoolProbesBoundedly(t *testing.T) {
	saved := MaxProbes
	t.Cleanup(func() { MaxProbes = saved })
	MaxProbes = 4
	s := openStore(t, t.TempDir(), mustPool(t, v6Pool))
	for _, taken := range []string{"fd00:1::2", "fd00:1::3", "fd00:1::4", "fd00:1::5"} {
		plant(t, s.Dir(), taken, "x\ny\n", "")
	}
	_, err := first(s.Reserve(Attachment{ContainerID: "c1", IfName: "eth0"}))
	if !errors.Is(err, ErrPoolExhausted) || !strings.Contains(err.Error(), "the 4 addresses after the last one handed out") {
		t.Fatalf("Reserve past MaxProbes taken addresses: %v", err)
	}
	MaxProbes = 5
	if ip, err := first(s.Reserve(Attachment{ContainerID: "c1", IfName: "eth0"})); err != nil || ip.String() != "fd00:1::6" {
		t.Fatalf("Reserve = %v, %v; want fd00:1::6", ip, err)
	}
	// The last address of a /64 wraps to the first.
	MaxProbes = 6
	if err := os.WriteFile(filepath.Join(s.Dir(), lastReserved6FileName), []byte("fd00:1::ffff:ffff:ffff:ffff\n"), fileMode); err != nil {
		t.Fatal(err)
	}
	if ip, err := first(s.Reserve(Attachment{ContainerID: "c2", IfName: "eth0"})); err != nil || ip.String() != "fd00:1::7" {
		t.Fatalf("Reserve after the last address = %v, %v; want the wrap to fd00:1::7 (2-6 are taken)", ip, err)
	}
}

// crashStep builds, by hand, what a Reserve of a (dual-stack: 10.1.0.2 and
// fd00:1::2) killed after step leaves in an indexed store.
func crashStep(t *testing.T, s *Store, a Attachment, step string) {
	t.Helper()
	ips := []net.IP{net.ParseIP("10.1.0.2").To4(), net.ParseIP("fd00:1::2")}
	data, err := FormatReservation(a)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, content []byte) {
		if err := os.WriteFile(filepath.Join(s.Dir(), name), content, fileMode); err != nil {
			t.Fatal(err)
		}
	}
	linkTo := func(ip net.IP) {
		if err := os.Link(filepath.Join(s.Dir(), reservingTempName), filepath.Join(s.Dir(), ip.String())); err != nil {
			t.Fatal(err)
		}
	}
	steps := []string{"index temp", "index entry", "reservation temp", "first link", "second link", "last_reserved temp"}
	for _, st := range steps {
		switch st {
		case "index temp":
			write(attTempName, formatAtt(ips))
		case "index entry":
			if err := os.Rename(filepath.Join(s.Dir(), attTempName), filepath.Join(s.Dir(), attName(a))); err != nil {
				t.Fatal(err)
			}
		case "reservation temp":
			write(reservingTempName, data)
		case "first link":
			linkTo(ips[0])
		case "second link":
			linkTo(ips[1])
		case "last_reserved temp":
			write(recordTempName, []byte("10.1.0.2\n"))
		}
		if st == step {
			return
		}
	}
	t.Fatalf("no step %q", step)
}

func TestIndexAfterACrashedReserve(t *testing.T) {
	tests := []struct {
		step      string
		holdsSome bool // a reservation file was linked: the attachment holds an address
	}{
		{"index temp", false},
		{"index entry", false},
		{"reservation temp", false},
		{"first link", true},
		{"second link", true},
		{"last_reserved temp", true},
	}
	a := Attachment{ContainerID: "dead", IfName: "eth0"}
	for _, tt := range tests {
		t.Run(tt.step+"/DEL releases everything", func(t *testing.T) {
			s := dualStore(t)
			if _, err := s.Release(Attachment{ContainerID: "x", IfName: "eth0"}); err != nil { // builds the index
				t.Fatal(err)
			}
			built := listDir(t, s.Dir())
			crashStep(t, s, a, tt.step)
			if _, err := s.Release(a); err != nil {
				t.Fatal(err)
			}
			if left := listDir(t, s.Dir()); !slices.Equal(left, built) {
				t.Fatalf("after the crash and DEL the store holds %v, want %v", left, built)
			}
		})
		t.Run(tt.step+"/ADD refuses a duplicate", func(t *testing.T) {
			s := dualStore(t)
			if _, err := s.Release(Attachment{ContainerID: "x", IfName: "eth0"}); err != nil {
				t.Fatal(err)
			}
			crashStep(t, s, a, tt.step)
			ips, err := s.Reserve(a)
			if tt.holdsSome {
				if !errors.Is(err, ErrAlreadyReserved) {
					t.Fatalf("Reserve after a crash past the link: %v, %v; want ErrAlreadyReserved", ips, err)
				}
				return
			}
			if err != nil || fmt.Sprint(ips) != "[10.1.0.2 fd00:1::2]" {
				t.Fatalf("Reserve after a crash before any link = %v, %v; want the addresses nobody holds", ips, err)
			}
			if got, err := s.Release(a); err != nil || len(got) != 2 {
				t.Fatalf("Release = %v, %v", got, err)
			}
		})
	}
}

func TestIndexAfterACrashedRelease(t *testing.T) {
	s := dualStore(t)
	a := Attachment{ContainerID: "c1", IfName: "eth0"}
	ips, err := s.Reserve(a)
	if err != nil {
		t.Fatal(err)
	}
	// Killed after removing the address files, before the index entry.
	for _, ip := range ips {
		if err := os.Remove(filepath.Join(s.Dir(), ip.String())); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := s.Lookup(a); err != nil || len(got) != 0 {
		t.Fatalf("Lookup = %v, %v; want nothing", got, err)
	}
	if got, err := s.Reserve(a); err != nil || len(got) != 2 {
		t.Fatalf("Reserve after a crashed Release = %v, %v", got, err)
	}
	if got, err := s.Release(a); err != nil || len(got) != 2 {
		t.Fatalf("Release = %v, %v", got, err)
	}
	if _, err := os.Lstat(filepath.Join(s.Dir(), attName(a))); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("index entry left: %v", err)
	}
}

func TestIndexRebuiltWhenInDoubt(t *testing.T) {
	a := Attachment{ContainerID: "c1", IfName: "eth0"}
	tests := []struct {
		name   string
		tamper func(t *testing.T, s *Store)
		holds  string // what a holds afterwards, as Lookup lists it
	}{
		{"store from before the index", func(t *testing.T, s *Store) {
			for _, name := range []string{indexFileName, attName(a)} {
				if err := os.Remove(filepath.Join(s.Dir(), name)); err != nil {
					t.Fatal(err)
				}
			}
		}, "[10.1.0.2 fd00:1::2]"},
		{"address file moved by hand", func(t *testing.T, s *Store) {
			if err := os.Rename(filepath.Join(s.Dir(), "10.1.0.2"), filepath.Join(s.Dir(), "10.1.0.77")); err != nil {
				t.Fatal(err)
			}
		}, "[10.1.0.77 fd00:1::2]"},
		{"index entry corrupt", func(t *testing.T, s *Store) {
			plantOver(t, s, attName(a), "garbage")
		}, "[10.1.0.2 fd00:1::2]"},
		{"index entry points at another attachment's address", func(t *testing.T, s *Store) {
			plantOver(t, s, attName(a), "10.1.0.3\n")
		}, "[10.1.0.2 fd00:1::2]"},
		{"index entry a symlink", func(t *testing.T, s *Store) {
			if err := os.Remove(filepath.Join(s.Dir(), attName(a))); err != nil {
				t.Fatal(err)
			}
			plant(t, s.Dir(), attName(a), "", filepath.Join(s.Dir(), "10.1.0.3"))
		}, "[10.1.0.2 fd00:1::2]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := dualStore(t)
			other := Attachment{ContainerID: "c2", IfName: "eth0"}
			for _, x := range []Attachment{a, other} {
				if _, err := s.Reserve(x); err != nil {
					t.Fatal(err)
				}
			}
			tt.tamper(t, s)
			if got, err := s.Lookup(a); err != nil || fmt.Sprint(got) != tt.holds {
				t.Fatalf("Lookup = %v, %v; want %s", got, err, tt.holds)
			}
			if _, err := s.Reserve(a); !errors.Is(err, ErrAlreadyReserved) {
				t.Fatalf("Reserve of a held attachment: %v, want ErrAlreadyReserved", err)
			}
			if got, err := s.Release(a); err != nil || fmt.Sprint(got) != tt.holds {
				t.Fatalf("Release = %v, %v; want %s", got, err, tt.holds)
			}
			if got, err := s.Lookup(other); err != nil || fmt.Sprint(got) != "[10.1.0.3 fd00:1::3]" {
				t.Fatalf("the other attachment holds %v, %v", got, err)
			}
			if _, err := os.Stat(filepath.Join(s.Dir(), indexFileName)); err != nil {
				t.Fatalf("no index marker after the rebuild: %v", err)
			}
		})
	}
}

// plantOver replaces the store file name with content.
func plantOver(t *testing.T, s *Store, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(s.Dir(), name), []byte(content), fileMode); err != nil {
		t.Fatal(err)
	}
}

// A podnet from before the index (or one rolled back to) adds a reservation
// without an index entry while the marker says the index is whole: GC, which
// reads everything, rebuilds the index, and DEL then releases it.
func TestGCRebuildsTheIndex(t *testing.T) {
	s := dualStore(t)
	keep := Attachment{ContainerID: "keep", IfName: "eth0"}
	if _, err := s.Reserve(keep); err != nil {
		t.Fatal(err)
	}
	plant(t, s.Dir(), "10.1.0.9", "old\neth0\n", "")
	plant(t, s.Dir(), attName(Attachment{ContainerID: "gone", IfName: "eth0"}), "10.1.0.99\n", "")
	old := Attachment{ContainerID: "old", IfName: "eth0"}
	if _, _, err := s.ReleaseExcept(map[Attachment]bool{keep: true, old: true}); err != nil {
		t.Fatal(err)
	}
	want := []string{"10.1.0.2", "10.1.0.9", attName(keep), attName(old), "fd00:1::2", indexFileName, lastReservedFileName, lastReserved6FileName, lockFileName}
	slices.Sort(want)
	if left := listDir(t, s.Dir()); !slices.Equal(left, want) {
		t.Fatalf("after GC the store holds %v, want %v", left, want)
	}
	if got, err := s.Release(old); err != nil || fmt.Sprint(got) != "[10.1.0.9]" {
		t.Fatalf("Release of the old podnet's reservation = %v, %v", got, err)
	}
}

func TestWriteFileRefusesTheStoresNames(t *testing.T) {
	s := openStore(t, t.TempDir(), mustPool(t, v4Pool))
	for _, name := range []string{indexFileName, lockFileName, lastReservedFileName, lastReserved6FileName, attName(Attachment{ContainerID: "c", IfName: "e"}), "fd00::2"} {
		if err := s.WriteFile(name, nil); !errors.Is(err, errReservedName) {
			t.Errorf("WriteFile(%q) = %v, want a refusal", name, err)
		}
	}
}

// BenchmarkReserveRelease is one ADD's and one DEL's store work, in a /16
// holding 0 or 20,000 other reservations: with the index the two cost the same.
func BenchmarkReserveRelease(b *testing.B) {
	for _, held := range []int{0, 20000} {
		b.Run(fmt.Sprintf("reservations=%d", held), func(b *testing.B) {
			_, ipn, _ := net.ParseCIDR("10.16.0.0/16")
			pool, err := NewPool(ipn)
			if err != nil {
				b.Fatal(err)
			}
			s, err := Open(b.TempDir(), "net", []Pool{pool}, true)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = s.Close() })
			for i := range held {
				if _, err := s.Reserve(Attachment{ContainerID: fmt.Sprintf("held-%d", i), IfName: "eth0"}); err != nil {
					b.Fatal(err)
				}
			}
			a := Attachment{ContainerID: strings.Repeat("f", 64), IfName: "eth0"}
			for b.Loop() {
				if _, err := s.Reserve(a); err != nil {
					b.Fatal(err)
				}
				if ips, err := s.Release(a); err != nil || len(ips) != 1 {
					b.Fatal(ips, err)
				}
			}
		})
	}
}

// errKilled is the panic of crashAt, standing for a SIGKILL.
var errKilled = errors.New("killed")

// crashAt runs op with the store's crash hook stopping it at its n-th
// crash point (from 0), as a kill would, and returns that point's name.
func crashAt(n int, op func()) (reached string) {
	crashHook = func(at string) {
		if n == 0 {
			reached = at
			panic(errKilled)
		}
		n--
	}
	defer func() {
		crashHook = nil
		if r := recover(); r != nil {
			if err, ok := r.(error); !ok || !errors.Is(err, errKilled) {
				panic(r)
			}
		}
	}()
	op()
	return reached
}

// stepsOf lists the crash points op passes.
func stepsOf(op func()) []string {
	var steps []string
	crashHook = func(at string) { steps = append(steps, at) }
	defer func() { crashHook = nil }()
	op()
	return steps
}

// TestKilledAtEveryStep kills a dual-stack Reserve and then a Release at each
// of their steps (the real code, stopped by the crash hook): afterwards DEL
// still releases everything, leaving the store as a clean ADD + DEL does, and
// ADD refuses a duplicate exactly when an address file was linked.
func TestKilledAtEveryStep(t *testing.T) {
	for _, unnamed := range []bool{true, false} {
		t.Run(fmt.Sprintf("O_TMPFILE %v", unnamed), func(t *testing.T) {
			unnamedFiles = unnamed
			defer func() { unnamedFiles = true }()
			killedAtEveryStep(t)
		})
	}
}

func killedAtEveryStep(t *testing.T) {
	a := Attachment{ContainerID: "dead", IfName: "eth0"}
	probe := dualStore(t)
	reserveSteps := stepsOf(func() { _, _ = probe.Reserve(a) })
	releaseSteps := stepsOf(func() { _, _ = probe.Release(a) })
	if want := "[index entry written reservation temp written linked 10.1.0.2 linked fd00:1::2 before last reserved 10.1.0.2 before last reserved fd00:1::2]"; fmt.Sprint(reserveSteps) != want {
		t.Fatalf("Reserve's steps %v, want %s", reserveSteps, want)
	}
	if len(releaseSteps) != 2 {
		t.Fatalf("Release's steps %v, want one per address", releaseSteps)
	}
	clean := func(t *testing.T) (*Store, []string) {
		s := dualStore(t)
		x := Attachment{ContainerID: "x", IfName: "eth0"}
		if _, err := s.Reserve(x); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Release(x); err != nil {
			t.Fatal(err)
		}
		return s, listDir(t, s.Dir())
	}
	for i, step := range reserveSteps {
		linked := i >= 2 // from "linked 10.1.0.2" on
		t.Run("Reserve killed at "+step, func(t *testing.T) {
			s, baseline := clean(t)
			if at := crashAt(i, func() { _, _ = s.Reserve(a) }); at == "" {
				t.Fatal("step not reached")
			}
			_, err := s.Reserve(a)
			if linked != errors.Is(err, ErrAlreadyReserved) {
				t.Fatalf("ADD after the kill: %v; want ErrAlreadyReserved: %v", err, linked)
			}
			if _, err := s.Release(a); err != nil {
				t.Fatal(err)
			}
			if left := listDir(t, s.Dir()); !slices.Equal(left, baseline) {
				t.Fatalf("after the kill and DEL the store holds %v, want %v", left, baseline)
			}
		})
	}
	for i, step := range releaseSteps {
		t.Run("Release killed at "+step, func(t *testing.T) {
			s, baseline := clean(t)
			if _, err := s.Reserve(a); err != nil {
				t.Fatal(err)
			}
			if at := crashAt(i, func() { _, _ = s.Release(a) }); at == "" {
				t.Fatal("step not reached")
			}
			if _, err := s.Release(a); err != nil {
				t.Fatal(err)
			}
			if left := listDir(t, s.Dir()); !slices.Equal(left, baseline) {
				t.Fatalf("after the kill and a second DEL the store holds %v, want %v", left, baseline)
			}
			if ips, err := s.Reserve(a); err != nil || len(ips) != 2 {
				t.Fatalf("ADD after the release = %v, %v", ips, err)
			}
		})
	}
}
