package ipam

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
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
	s, err := Open(dataDir, "net", pool, true)
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
		{cidr: "fd00::/64", wantErr: true},
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
		ip, err := s.Reserve(Attachment{ContainerID: fmt.Sprint("c", i), IfName: "eth0"})
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
	_, err := s.Reserve(Attachment{ContainerID: "extra", IfName: "eth0"})
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
	if _, err := s.Reserve(a); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Reserve(a); !errors.Is(err, ErrAlreadyReserved) {
		t.Fatalf("second Reserve: %v, want ErrAlreadyReserved", err)
	}
	// Another interface of the same container is another attachment.
	if _, err := s.Reserve(Attachment{ContainerID: "c1", IfName: "net1"}); err != nil {
		t.Fatal(err)
	}
}

func TestReleaseMatchesTheAttachmentNotTheText(t *testing.T) {
	s := openStore(t, t.TempDir(), mustPool(t, "10.1.0.0/24"))
	// "c1" is a prefix of "c10" and both files hold "eth0": a text match would
	// free the wrong address (the bash-cni bug).
	for _, id := range []string{"c10", "c1"} {
		if _, err := s.Reserve(Attachment{ContainerID: id, IfName: "eth0"}); err != nil {
			t.Fatal(err)
		}
	}
	ip, err := s.Release(Attachment{ContainerID: "c1", IfName: "eth0"})
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
	if ip, err := s.Release(Attachment{ContainerID: "c1", IfName: "eth0"}); err != nil || ip != nil {
		t.Fatalf("second Release = %v, %v", ip, err)
	}
	// Round-robin: the just-released address is not handed out at once.
	if ip, err := s.Reserve(Attachment{ContainerID: "c2", IfName: "eth0"}); err != nil || ip.String() != "10.1.0.4" {
		t.Fatalf("Reserve after Release = %v, %v; want 10.1.0.4", ip, err)
	}
}

func TestReleaseExcept(t *testing.T) {
	s := openStore(t, t.TempDir(), mustPool(t, "10.1.0.0/24"))
	keep := Attachment{ContainerID: "keep", IfName: "eth0"}
	for _, a := range []Attachment{keep, {ContainerID: "gone", IfName: "eth0"}, {ContainerID: "keep", IfName: "net1"}} {
		if _, err := s.Reserve(a); err != nil {
			t.Fatal(err)
		}
	}
	freed, _, err := s.ReleaseExcept(map[Attachment]bool{keep: true})
	if err != nil || len(freed) != 2 {
		t.Fatalf("ReleaseExcept freed %v, %v; want 2", freed, err)
	}
	if ip, _ := s.Lookup(keep); ip == nil {
		t.Fatal("the kept attachment lost its address")
	}
}

func TestOpenWithoutCreateChangesNothing(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	if _, err := Open(dataDir, "net", mustPool(t, "10.1.0.0/24"), false); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Open(create=false) on a missing dir: %v, want ErrNotExist", err)
	}
	if _, err := os.Stat(dataDir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Open(create=false) created %s", dataDir)
	}
}

func TestFileModes(t *testing.T) {
	s := openStore(t, t.TempDir(), mustPool(t, "10.1.0.0/24"))
	ip, err := s.Reserve(Attachment{ContainerID: "c1", IfName: "eth0"})
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
			s, err := Open(dataDir, "net", pool, true)
			if err != nil {
				errs[i] = err
				return
			}
			defer func() { _ = s.Close() }()
			ips[i], errs[i] = s.Reserve(Attachment{ContainerID: fmt.Sprint("c", i), IfName: "eth0"})
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
			s, err := Open(dataDir, "net", pool, false)
			if err != nil {
				errs[i] = err
				return
			}
			defer func() { _ = s.Close() }()
			_, errs[i] = s.Release(Attachment{ContainerID: fmt.Sprint("c", i), IfName: "eth0"})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("release %d: %v", i, err)
		}
	}
	if left := listDir(t, filepath.Join(dataDir, "net")); fmt.Sprint(left) != fmt.Sprint([]string{lastReservedFileName, lockFileName}) {
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
	ip, err := s.Reserve(a)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Lookup(a); err != nil || !got.Equal(ip) {
		t.Fatalf("Lookup = %v, %v; want %s", got, err, ip)
	}
	if got, err := s.Release(a); err != nil || !got.Equal(ip) {
		t.Fatalf("Release = %v, %v; want %s", got, err, ip)
	}
}
