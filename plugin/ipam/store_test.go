package ipam

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func mustPool(t *testing.T, cidr string) Pool {
	t.Helper()
	_, ipn, err := net.ParseCIDR(cidr)
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPool(ipn)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func openStore(t *testing.T, dataDir string, pool Pool) *Store {
	t.Helper()
	s, err := Open(dataDir, "net", []Pool{pool}, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestNewPool(t *testing.T) {
	tests := []struct {
		cidr                 string
		gateway, first, last string
		size                 int
		wantErr              bool
	}{
		{cidr: "10.244.1.0/24", gateway: "10.244.1.1", first: "10.244.1.2", last: "10.244.1.254", size: 253},
		{cidr: "10.244.1.0/30", gateway: "10.244.1.1", first: "10.244.1.2", last: "10.244.1.2", size: 1},
		{cidr: "10.0.0.0/16", gateway: "10.0.0.1", first: "10.0.0.2", last: "10.0.255.254", size: 65533},
		{cidr: "10.244.1.0/31", wantErr: true},
		{cidr: "10.244.1.0/32", wantErr: true},
		{cidr: "fd00::/126", gateway: "fd00::1", first: "fd00::2", last: "fd00::3", size: 2},
		{cidr: "fd00:1:2:3::ff00/120", gateway: "fd00:1:2:3::ff01", first: "fd00:1:2:3::ff02", last: "fd00:1:2:3::ffff", size: 254},
		{cidr: "fd00::/127", wantErr: true},
		{cidr: "fd00::/63", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.cidr, func(t *testing.T) {
			_, ipn, _ := net.ParseCIDR(tt.cidr)
			p, err := NewPool(ipn)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("NewPool(%s) = %+v, want error", tt.cidr, p)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var last net.IP
			for ip := p.First(); ip != nil; ip = p.Next(ip) {
				last = ip
			}
			got := fmt.Sprint(p.Gateway, " ", p.First(), " ", last, " ", p.Size())
			if p.IPv6() != strings.Contains(tt.cidr, ":") {
				t.Errorf("IPv6() = %v", p.IPv6())
			}
			want := fmt.Sprint(tt.gateway, " ", tt.first, " ", tt.last, " ", tt.size)
			if got != want {
				t.Errorf("gateway first last size = %s, want %s", got, want)
			}
			for _, never := range []string{p.Subnet.IP.String(), tt.gateway} {
				if p.Contains(net.ParseIP(never)) {
					t.Errorf("pool contains %s", never)
				}
			}
		})
	}
}

func TestReserveNeverHandsOutReservedAddresses(t *testing.T) {
	pool := mustPool(t, "10.1.0.0/29") // pods .2-.6
	s := openStore(t, t.TempDir(), pool)
	var got []string
	for i := range pool.Size() {
		ip, err := first(s.Reserve(Attachment{ContainerID: fmt.Sprint("c", i), IfName: "eth0"}))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ip.String())
	}
	want := "[10.1.0.2 10.1.0.3 10.1.0.4 10.1.0.5 10.1.0.6]"
	if fmt.Sprint(got) != want {
		t.Fatalf("reserved %v, want %s", got, want)
	}
	before := listDir(t, s.Dir())
	_, err := first(s.Reserve(Attachment{ContainerID: "extra", IfName: "eth0"}))
	if !errors.Is(err, ErrPoolExhausted) {
		t.Fatalf("Reserve on a full pool: %v, want ErrPoolExhausted", err)
	}
	if after := listDir(t, s.Dir()); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("failed Reserve changed the store: %v -> %v", before, after)
	}
}

func TestReserveTwiceForOneAttachmentFails(t *testing.T) {
	s := openStore(t, t.TempDir(), mustPool(t, "10.1.0.0/24"))
	a := Attachment{ContainerID: "c1", IfName: "eth0"}
	if _, err := first(s.Reserve(a)); err != nil {
		t.Fatal(err)
	}
	if _, err := first(s.Reserve(a)); !errors.Is(err, ErrAlreadyReserved) {
		t.Fatalf("second Reserve: %v, want ErrAlreadyReserved", err)
	}
	// Another interface of the same container is another attachment.
	if _, err := first(s.Reserve(Attachment{ContainerID: "c1", IfName: "net1"})); err != nil {
		t.Fatal(err)
	}
}

func TestReleaseMatchesTheAttachmentNotTheText(t *testing.T) {
	s := openStore(t, t.TempDir(), mustPool(t, "10.1.0.0/24"))
	// "c1" is a prefix of "c10" and both files hold "eth0": a text match would
	// free the wrong address (the bash-cni bug).
	for _, id := range []string{"c10", "c1"} {
		if _, err := first(s.Reserve(Attachment{ContainerID: id, IfName: "eth0"})); err != nil {
			t.Fatal(err)
		}
	}
	ip, err := first(s.Release(Attachment{ContainerID: "c1", IfName: "eth0"}))
	if err != nil || ip.String() != "10.1.0.3" {
		t.Fatalf("Release(c1) = %v, %v; want 10.1.0.3", ip, err)
	}
	held, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(held) != 1 || held["10.1.0.2"] != (Attachment{ContainerID: "c10", IfName: "eth0"}) {
		t.Fatalf("after Release(c1): %v", held)
	}
	// Releasing what is not held succeeds and frees nothing.
	if ip, err := first(s.Release(Attachment{ContainerID: "c1", IfName: "eth0"})); err != nil || ip != nil {
		t.Fatalf("second Release = %v, %v", ip, err)
	}
	// Round-robin: the just-released address is not handed out at once.
	if ip, err := first(s.Reserve(Attachment{ContainerID: "c2", IfName: "eth0"})); err != nil || ip.String() != "10.1.0.4" {
		t.Fatalf("Reserve after Release = %v, %v; want 10.1.0.4", ip, err)
	}
}

func TestReleaseExcept(t *testing.T) {
	s := openStore(t, t.TempDir(), mustPool(t, "10.1.0.0/24"))
	keep := Attachment{ContainerID: "keep", IfName: "eth0"}
	for _, a := range []Attachment{keep, {ContainerID: "gone", IfName: "eth0"}, {ContainerID: "keep", IfName: "net1"}} {
		if _, err := first(s.Reserve(a)); err != nil {
			t.Fatal(err)
		}
	}
	freed, _, err := s.ReleaseExcept(map[Attachment]bool{keep: true})
	if err != nil || len(freed) != 2 {
		t.Fatalf("ReleaseExcept freed %v, %v; want 2", freed, err)
	}
	if ip, _ := first(s.Lookup(keep)); ip == nil {
		t.Fatal("the kept attachment lost its address")
	}
}

func TestOpenWithoutCreateChangesNothing(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	if _, err := Open(dataDir, "net", []Pool{mustPool(t, "10.1.0.0/24")}, false); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Open(create=false) on a missing dir: %v, want ErrNotExist", err)
	}
	if _, err := os.Stat(dataDir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Open(create=false) created %s", dataDir)
	}
}

func TestFileModes(t *testing.T) {
	s := openStore(t, t.TempDir(), mustPool(t, "10.1.0.0/24"))
	ip, err := first(s.Reserve(Attachment{ContainerID: "c1", IfName: "eth0"}))
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{s.Dir(): dirMode | os.ModeDir, filepath.Join(s.Dir(), ip.String()): fileMode} {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode() != want {
			t.Errorf("%s has mode %v, want %v", path, st.Mode(), want)
		}
	}
	data, _ := os.ReadFile(filepath.Join(s.Dir(), ip.String()))
	if string(data) != "c1\neth0\n" {
		t.Errorf("reservation file holds %q", data)
	}
}

// Every goroutine opens its own Store, so each holds its own open file
// description and flock, exactly like separate plugin processes.
func TestConcurrentReserveAndRelease(t *testing.T) {
	dataDir := t.TempDir()
	pool := mustPool(t, "10.1.0.0/24")
	const workers = 200 // more than the pool holds
	var wg sync.WaitGroup
	ips := make([]net.IP, workers)
	errs := make([]error, workers)
	for i := range workers {
		wg.Go(func() {
			s, err := Open(dataDir, "net", []Pool{pool}, true)
			if err != nil {
				errs[i] = err
				return
			}
			defer func() { _ = s.Close() }()
			ips[i], errs[i] = first(s.Reserve(Attachment{ContainerID: fmt.Sprint("c", i), IfName: "eth0"}))
		})
	}
	wg.Wait()
	seen := map[string]int{}
	for i := range workers {
		if errs[i] != nil {
			t.Fatalf("worker %d: %v", i, errs[i])
		}
		if prev, dup := seen[ips[i].String()]; dup {
			t.Fatalf("%s handed to workers %d and %d", ips[i], prev, i)
		}
		seen[ips[i].String()] = i
	}
	for i := range workers {
		wg.Go(func() {
			s, err := Open(dataDir, "net", []Pool{pool}, false)
			if err != nil {
				errs[i] = err
				return
			}
			defer func() { _ = s.Close() }()
			_, errs[i] = first(s.Release(Attachment{ContainerID: fmt.Sprint("c", i), IfName: "eth0"}))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("release %d: %v", i, err)
		}
	}
	if left := listDir(t, filepath.Join(dataDir, "net")); fmt.Sprint(left) != fmt.Sprint([]string{indexFileName, lastReservedFileName, lockFileName}) {
		t.Fatalf("left after releasing everything: %v", left)
	}
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestLongContainerID(t *testing.T) {
	s := openStore(t, t.TempDir(), mustPool(t, "10.1.0.0/24"))
	a := Attachment{ContainerID: strings.Repeat("c", 1000), IfName: "eth0"} // past read's first buffer
	ip, err := first(s.Reserve(a))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := first(s.Lookup(a)); err != nil || !got.Equal(ip) {
		t.Fatalf("Lookup = %v, %v; want %s", got, err, ip)
	}
	if got, err := first(s.Release(a)); err != nil || !got.Equal(ip) {
		t.Fatalf("Release = %v, %v; want %s", got, err, ip)
	}
}

func TestReserveRoundRobin(t *testing.T) {
	pool := mustPool(t, "10.1.0.0/29") // pods .2-.6
	s := openStore(t, t.TempDir(), pool)
	att := func(id string) Attachment { return Attachment{ContainerID: id, IfName: "eth0"} }
	steps := []struct {
		reserve, release string // container IDs
		want             string // address reserve gets
	}{
		{reserve: "a", want: "10.1.0.2"},
		{reserve: "b", want: "10.1.0.3"},
		{release: "a"},
		{reserve: "c", want: "10.1.0.4"}, // not .2, just released
		{reserve: "d", want: "10.1.0.5"},
		{reserve: "e", want: "10.1.0.6"},
		{reserve: "f", want: "10.1.0.2"}, // wraps around to the lowest free one
		{release: "c"},
		{reserve: "g", want: "10.1.0.4"}, // the only free one
	}
	for i, st := range steps {
		if st.release != "" {
			if _, err := first(s.Release(att(st.release))); err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
			continue
		}
		ip, err := first(s.Reserve(att(st.reserve)))
		if err != nil || ip.String() != st.want {
			t.Fatalf("step %d: Reserve(%s) = %v, %v; want %s", i, st.reserve, ip, err, st.want)
		}
	}
}

func TestReserveWithUnusableLastReserved(t *testing.T) {
	// The last two: an in-place rewrite killed between its write and its
	// truncate (the new address over the start of a longer old one).
	for _, content := range []string{"", "garbage\n", "10.2.0.9\n", "10.1.0.4", strings.Repeat("x", MaxFileSize+1), "10.1.0.9\n\n", "10.1.0.2\n54\n"} {
		t.Run(fmt.Sprintf("%.12q", content), func(t *testing.T) {
			s := openStore(t, t.TempDir(), mustPool(t, "10.1.0.0/24"))
			if err := os.WriteFile(filepath.Join(s.Dir(), lastReservedFileName), []byte(content), fileMode); err != nil {
				t.Fatal(err)
			}
			ip, err := first(s.Reserve(Attachment{ContainerID: "c1", IfName: "eth0"}))
			if err != nil || ip.String() != "10.1.0.2" {
				t.Fatalf("Reserve = %v, %v; want a scan from the start, 10.1.0.2", ip, err)
			}
		})
	}
}

// TestLastReservedWrittenInPlace: the record is rewritten in place when it
// is a plain file of ours (longer and shorter content alike, exactly the
// new address after), and replaced by a rename, never written through,
// when it is a symlink or has a second link.
func TestLastReservedWrittenInPlace(t *testing.T) {
	tests := []struct {
		name    string
		plant   func(t *testing.T, path string) // the record before the Reserve
		inPlace bool                            // same inode after
	}{
		{"shorter content", func(t *testing.T, path string) { writeTestFile(t, path, "10.1.0.254\n") }, true}, // wraps to 10.1.0.2
		{"longer content", func(t *testing.T, path string) { writeTestFile(t, path, "10.1.0.9\n") }, true},
		{"missing", func(*testing.T, string) {}, false},
		{"a second link", func(t *testing.T, path string) {
			writeTestFile(t, path, "10.1.0.9\n")
			if err := os.Link(path, path+"-other"); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"a symlink", func(t *testing.T, path string) {
			writeTestFile(t, path+"-target", "10.1.0.9\n")
			if err := os.Symlink(path+"-target", path); err != nil {
				t.Fatal(err)
			}
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openStore(t, t.TempDir(), mustPool(t, "10.1.0.0/24"))
			path := filepath.Join(s.Dir(), lastReservedFileName)
			tt.plant(t, path)
			var before unix.Stat_t
			_ = unix.Lstat(path, &before)
			ip, err := first(s.Reserve(Attachment{ContainerID: "c1", IfName: "eth0"}))
			if err != nil {
				t.Fatal(err)
			}
			if got, err := os.ReadFile(path); err != nil || string(got) != ip.String()+"\n" {
				t.Fatalf("last_reserved = %q, %v; want %q", got, err, ip.String()+"\n")
			}
			var after unix.Stat_t
			if err := unix.Lstat(path, &after); err != nil || after.Mode&unix.S_IFMT != unix.S_IFREG {
				t.Fatalf("last_reserved is not a regular file after: %v", err)
			}
			if same := before.Ino == after.Ino; same != tt.inPlace {
				t.Errorf("written in place: %v, want %v", same, tt.inPlace)
			}
			for _, other := range []string{path + "-other", path + "-target"} {
				if got, err := os.ReadFile(other); err == nil && string(got) != "10.1.0.9\n" {
					t.Errorf("%s was written through: %q", other, got)
				}
			}
		})
	}
}

// TestPrepared: the files Prepare makes are invisible until ReservePrepared
// links them (a discarded Prepared leaves nothing), are used up by it, and
// belong to their store only.
func TestPrepared(t *testing.T) {
	s := openStore(t, t.TempDir(), mustPool(t, "10.1.0.0/24"))
	a := Attachment{ContainerID: "c1", IfName: "eth0"}
	empty := listDir(t, s.Dir())
	p, err := s.Prepare(a)
	if err != nil {
		t.Fatal(err)
	}
	if got := listDir(t, s.Dir()); !slices.Equal(got, empty) {
		t.Fatalf("Prepare left %v, want %v", got, empty)
	}
	p.Close()
	if got := listDir(t, s.Dir()); !slices.Equal(got, empty) {
		t.Fatalf("a discarded Prepared left %v, want %v", got, empty)
	}
	other := openStore(t, t.TempDir(), mustPool(t, "10.1.0.0/24"))
	foreign, err := other.Prepare(a)
	if err != nil {
		t.Fatal(err)
	}
	defer foreign.Close()
	if _, err := s.ReservePrepared(foreign); err == nil {
		t.Fatal("ReservePrepared took another store's files")
	}
	p, err = s.Prepare(a)
	if err != nil {
		t.Fatal(err)
	}
	if ip, err := first(s.ReservePrepared(p)); err != nil || ip.String() != "10.1.0.2" {
		t.Fatalf("ReservePrepared = %v, %v", ip, err)
	}
	if _, err := s.ReservePrepared(p); !errors.Is(err, ErrAlreadyReserved) {
		t.Fatalf("ReservePrepared again = %v, want ErrAlreadyReserved", err)
	}
	if got, err := os.ReadFile(filepath.Join(s.Dir(), "10.1.0.2")); err != nil || string(got) != "c1\neth0\n" {
		t.Fatalf("the reservation holds %q, %v", got, err)
	}
}

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), fileMode); err != nil {
		t.Fatal(err)
	}
}

func TestParseReservation(t *testing.T) {
	tests := []struct {
		data string
		want Attachment
		ok   bool
	}{
		{"c1\neth0\n", Attachment{ContainerID: "c1", IfName: "eth0"}, true},
		{"", Attachment{}, false},
		{"c1\n", Attachment{}, false},
		{"c1\neth0", Attachment{}, false},
		{"c1\neth0\nextra\n", Attachment{}, false},
		{"\neth0\n", Attachment{}, false},
		{"c1\n\n", Attachment{}, false},
		{" c1\neth0\n", Attachment{}, false},
		{"c\x001\neth0\n", Attachment{}, false},
		{strings.Repeat("c", MaxFileSize) + "\neth0\n", Attachment{}, false},
	}
	for _, tt := range tests {
		got, err := ParseReservation([]byte(tt.data))
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseReservation(%.20q) = %v, %v; want %v, ok=%v", tt.data, got, err, tt.want, tt.ok)
		}
	}
}

// crash simulates a Reserve killed after step: "temp" (the temporary file is
// written, not linked) or "linked" (linked to its address, temp not removed).
func crash(t *testing.T, s *Store, ip string, a Attachment, step string) {
	t.Helper()
	data, err := FormatReservation(a)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.Dir(), reservingTempName), data, fileMode); err != nil {
		t.Fatal(err)
	}
	if step == "linked" {
		if err := os.Link(filepath.Join(s.Dir(), reservingTempName), filepath.Join(s.Dir(), ip)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestReleaseAfterACrashedReserveLeavesNothing(t *testing.T) {
	for _, step := range []string{"temp", "linked"} {
		t.Run(step, func(t *testing.T) {
			s := openStore(t, t.TempDir(), mustPool(t, "10.1.0.0/24"))
			a := Attachment{ContainerID: "c1", IfName: "eth0"}
			crash(t, s, "10.1.0.2", a, step)
			if _, err := first(s.Release(a)); err != nil {
				t.Fatal(err)
			}
			if left := listDir(t, s.Dir()); fmt.Sprint(left) != "[index lock]" {
				t.Fatalf("left after DEL's release: %v", left)
			}
		})
	}
}

func TestReserveAfterACrashedReserve(t *testing.T) {
	s := openStore(t, t.TempDir(), mustPool(t, "10.1.0.0/24"))
	crash(t, s, "10.1.0.2", Attachment{ContainerID: "dead", IfName: "eth0"}, "temp")
	ip, err := first(s.Reserve(Attachment{ContainerID: "c1", IfName: "eth0"}))
	if err != nil || ip.String() != "10.1.0.2" {
		t.Fatalf("Reserve = %v, %v; want 10.1.0.2 (the crashed one never held it)", ip, err)
	}
	if left := listDir(t, s.Dir()); fmt.Sprint(left) != "[10.1.0.2 "+attName(Attachment{ContainerID: "c1", IfName: "eth0"})+" index last_reserved lock]" {
		t.Fatalf("store holds %v", left)
	}
}

// plant creates an entry named name in the store: a file with content, or a
// symlink to target when target is set.
func plant(t *testing.T, dir, name, content, target string) {
	t.Helper()
	path := filepath.Join(dir, name)
	var err error
	if target != "" {
		err = os.Symlink(target, path)
	} else {
		err = os.WriteFile(path, []byte(content), 0o644)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func TestCorruptAndForeignEntries(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(outside, []byte("c1\neth0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := openStore(t, t.TempDir(), mustPool(t, "10.1.0.0/29")) // pods .2-.6
	plant(t, s.Dir(), "10.1.0.2", "", "")                      // empty: a crash of an old podnet
	plant(t, s.Dir(), "10.1.0.3", "garbage", "")               // unparseable
	plant(t, s.Dir(), "10.1.0.4", "", outside)                 // symlink out of the store
	big, err := os.Create(filepath.Join(s.Dir(), "10.1.0.5"))  // 300 MiB, sparse
	if err == nil {
		err = errors.Join(big.Truncate(300<<20), big.Close())
	}
	if err != nil {
		t.Fatal(err)
	}
	// None of those addresses is handed out, and the symlink is not read
	// (its target names c1/eth0, which would make c1 "already reserved").
	ip, err := first(s.Reserve(Attachment{ContainerID: "c1", IfName: "eth0"}))
	if err != nil || ip.String() != "10.1.0.6" {
		t.Fatalf("Reserve = %v, %v; want 10.1.0.6, the only clean address", ip, err)
	}
	if _, err := first(s.Reserve(Attachment{ContainerID: "c2", IfName: "eth0"})); !errors.Is(err, ErrPoolExhausted) {
		t.Fatalf("Reserve on a pool of corrupt entries: %v, want ErrPoolExhausted", err)
	}
	// GC removes the corrupt regular files, never the symlink or its target.
	freed, corrupt, err := s.ReleaseExcept(map[Attachment]bool{})
	if err != nil || len(freed) != 1 || corrupt != 3 {
		t.Fatalf("ReleaseExcept = %v, %d corrupt, %v; want 1 freed, 3 corrupt", freed, corrupt, err)
	}
	if left := listDir(t, s.Dir()); fmt.Sprint(left) != "[10.1.0.4 index last_reserved lock]" {
		t.Fatalf("left after GC: %v", left)
	}
	if data, err := os.ReadFile(outside); err != nil || string(data) != "c1\neth0\n" {
		t.Fatalf("the symlink's target changed: %q, %v", data, err)
	}
}

func TestOpenRefusesSymlinks(t *testing.T) {
	pool := mustPool(t, "10.1.0.0/24")
	t.Run("store directory", func(t *testing.T) {
		dataDir, elsewhere := t.TempDir(), t.TempDir()
		plant(t, dataDir, "net", "", elsewhere)
		for _, create := range []bool{true, false} {
			if _, err := Open(dataDir, "net", []Pool{pool}, create); !errors.Is(err, ErrUnsafe) {
				t.Fatalf("Open(create=%v) through a symlinked store: %v, want ErrUnsafe", create, err)
			}
		}
		if left := listDir(t, elsewhere); len(left) != 0 {
			t.Fatalf("Open wrote through the symlink: %v", left)
		}
	})
	t.Run("dangling lock", func(t *testing.T) {
		dataDir := t.TempDir()
		target := filepath.Join(t.TempDir(), "created-by-podnet")
		if err := os.Mkdir(filepath.Join(dataDir, "net"), dirMode); err != nil {
			t.Fatal(err)
		}
		plant(t, filepath.Join(dataDir, "net"), lockFileName, "", target)
		if _, err := Open(dataDir, "net", []Pool{pool}, true); err == nil {
			t.Fatal("Open accepted a symlinked lock")
		}
		if _, err := os.Lstat(target); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("the lock symlink's target was created: %v", err)
		}
	})
	t.Run("store directory is a file", func(t *testing.T) {
		dataDir := t.TempDir()
		plant(t, dataDir, "net", "x", "")
		if _, err := Open(dataDir, "net", []Pool{pool}, true); !errors.Is(err, ErrUnsafe) {
			t.Fatalf("Open on a file: %v, want ErrUnsafe", err)
		}
	})
}

func TestOpenRefusesAForeignOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (chowns a directory to another user)")
	}
	dataDir := t.TempDir()
	dir := filepath.Join(dataDir, "net")
	if err := os.Mkdir(dir, dirMode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dataDir, "net", []Pool{mustPool(t, "10.1.0.0/24")}, true); !errors.Is(err, ErrUnsafe) {
		t.Fatalf("Open of a directory owned by nobody: %v, want ErrUnsafe", err)
	}
}

func TestPermissionsRepaired(t *testing.T) {
	dataDir := t.TempDir()
	dir := filepath.Join(dataDir, "net")
	if err := os.Mkdir(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	plant(t, dir, lockFileName, "", "")
	plant(t, dir, "10.1.0.2", "c1\neth0\n", "")
	if err := os.Chmod(dir, 0o777); err != nil { // past the umask
		t.Fatal(err)
	}
	s := openStore(t, dataDir, mustPool(t, "10.1.0.0/24"))
	if _, _, err := s.ReleaseExcept(map[Attachment]bool{{ContainerID: "c1", IfName: "eth0"}: true}); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{dir: dirMode | os.ModeDir, filepath.Join(dir, lockFileName): fileMode, filepath.Join(dir, "10.1.0.2"): fileMode} {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode() != want {
			t.Errorf("%s has mode %v, want %v", path, st.Mode(), want)
		}
	}
}

func TestLockWaitIsBounded(t *testing.T) {
	// With one P, as podnet runs (plugin/main.go): the timeout must fire
	// while the waiting goroutine blocks in flock.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	dataDir := t.TempDir()
	pool := mustPool(t, "10.1.0.0/24")
	holder := openStore(t, dataDir, pool)
	waiter := openStore(t, dataDir, pool)
	saved := LockTimeout
	t.Cleanup(func() { LockTimeout = saved })
	LockTimeout = 50 * time.Millisecond

	if err := LockFile(holder.lockf, time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := first(waiter.Reserve(Attachment{ContainerID: "c1", IfName: "eth0"})); !errors.Is(err, ErrBusy) {
		t.Fatalf("Reserve while another process holds the lock: %v, want ErrBusy", err)
	}
	// STATUS's count takes no lock at all.
	if n, err := inspect1(dataDir, "net", pool); err != nil || n != 0 {
		t.Fatalf("Inspect = %d, %v", n, err)
	}
	// The abandoned wait drops the lock when it is granted late: the holder
	// lets go and can take it again (it would get ErrBusy otherwise).
	if err := flock(int(holder.lockf.Fd()), unix.LOCK_UN); err != nil {
		t.Fatal(err)
	}
	if err := LockFile(holder.lockf, 5*time.Second); err != nil {
		t.Fatalf("lock kept by an abandoned wait: %v", err)
	}
	// The timed-out store takes no lock again, even a free one: its abandoned
	// wait shares the lock's open file and would drop a later holder's lock.
	if err := flock(int(holder.lockf.Fd()), unix.LOCK_UN); err != nil {
		t.Fatal(err)
	}
	if _, err := first(waiter.Reserve(Attachment{ContainerID: "c1", IfName: "eth0"})); !errors.Is(err, ErrBusy) {
		t.Fatalf("Reserve on a store whose lock wait timed out: %v, want ErrBusy", err)
	}
	if err := LockFile(holder.lockf, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	waiter = openStore(t, dataDir, pool)
	// A lock freed while a waiter is blocked in the kernel is granted to it.
	LockTimeout = time.Hour
	holderFD := int(holder.lockf.Fd())
	unlocked := make(chan error, 1)
	go func() {
		time.Sleep(20 * time.Millisecond) // let the waiter block (the order, not a timed assertion)
		unlocked <- flock(holderFD, unix.LOCK_UN)
	}()
	if _, err := first(waiter.Reserve(Attachment{ContainerID: "c1", IfName: "eth0"})); err != nil {
		t.Fatalf("Reserve after the holder let go: %v", err)
	}
	if err := <-unlocked; err != nil {
		t.Fatal(err)
	}
}

func TestWriteFileReplacesASymlink(t *testing.T) {
	s := openStore(t, t.TempDir(), mustPool(t, "10.1.0.0/24"))
	target := filepath.Join(t.TempDir(), "target")
	plant(t, s.Dir(), "record", "", target)
	if err := s.WriteFile("record", []byte("x\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(target); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("WriteFile wrote through a symlink")
	}
	if data, err := s.ReadFile("record"); err != nil || string(data) != "x\n" {
		t.Fatalf("ReadFile = %q, %v", data, err)
	}
	for _, bad := range []string{"10.1.0.2", ".hidden", "a/b"} {
		if err := s.WriteFile(bad, nil); err == nil {
			t.Errorf("WriteFile(%q) succeeded", bad)
		}
	}
}

func TestInspectWritesNothing(t *testing.T) {
	pool := mustPool(t, "10.1.0.0/24")
	dataDir := t.TempDir()
	if _, err := inspect1(dataDir, "net", pool); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Inspect of a missing store: %v, want ErrNotExist", err)
	}
	dir := filepath.Join(dataDir, "net")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	plant(t, dir, "10.1.0.2", "c1\neth0\n", "")
	plant(t, dir, "10.9.9.9", "c2\neth0\n", "") // outside the pool
	if n, err := inspect1(dataDir, "net", pool); err != nil || n != 1 {
		t.Fatalf("Inspect = %d, %v; want 1", n, err)
	}
	if left := listDir(t, dir); fmt.Sprint(left) != "[10.1.0.2 10.9.9.9]" {
		t.Fatalf("Inspect created files: %v", left)
	}
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o755 {
		t.Fatalf("Inspect changed the mode: %v, %v", st.Mode(), err)
	}
	plant(t, dataDir, "link", "", dir)
	if _, err := inspect1(dataDir, "link", pool); !errors.Is(err, ErrUnsafe) {
		t.Fatalf("Inspect through a symlink: %v, want ErrUnsafe", err)
	}
}

// first is the first address of a Reserve, Release or Lookup (the tests
// above use one pool).
func first(ips []net.IP, err error) (net.IP, error) {
	if len(ips) == 0 {
		return nil, err
	}
	return ips[0], err
}

func inspect1(dataDir, name string, pool Pool) (int, error) {
	counts, err := Inspect(dataDir, name, []Pool{pool})
	if err != nil {
		return 0, err
	}
	return int(counts[0]), nil
}
