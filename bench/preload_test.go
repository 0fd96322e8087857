package bench

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPreloadAddressesLeaveEveryThirdFree(t *testing.T) {
	for _, tc := range []struct {
		name, subnet string
		n            int
		want         []string // first addresses
		last         string
		wantErr      string
	}{
		{name: "a /24", subnet: "10.99.1.0/24", n: 4, want: []string{"10.99.1.2", "10.99.1.3", "10.99.1.5", "10.99.1.6"}, last: "10.99.1.6"},
		{name: "20,000 in a /16", subnet: "10.100.0.0/16", n: 20000, want: []string{"10.100.0.2", "10.100.0.3", "10.100.0.5"}, last: "10.100.117.48"},
		{name: "a host address given", subnet: "10.100.7.9/16", n: 2, want: []string{"10.100.0.2", "10.100.0.3"}, last: "10.100.0.3"},
		// 253 pod addresses (.2 to .254) hold at most 169 at two of three.
		{name: "fills a /24", subnet: "10.99.1.0/24", n: 169, last: "10.99.1.254"},
		{name: "too many for a /24", subnet: "10.99.1.0/24", n: 170, wantErr: "do not fit 10.99.1.0/24"},
		{name: "IPv6", subnet: "fd00::/64", n: 1, wantErr: "not an IPv4 subnet"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, subnet, err := net.ParseCIDR(tc.subnet)
			if err != nil {
				t.Fatal(err)
			}
			subnet.IP = net.ParseIP(strings.Split(tc.subnet, "/")[0]) // keep a host address as given
			ips, err := preloadAddresses(subnet, tc.n)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("preloadAddresses = %v, want an error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(ips) != tc.n {
				t.Fatalf("%d addresses, want %d", len(ips), tc.n)
			}
			seen := map[string]bool{}
			for i, ip := range ips {
				if i < len(tc.want) && ip.String() != tc.want[i] {
					t.Errorf("address %d = %s, want %s", i, ip, tc.want[i])
				}
				if seen[ip.String()] || !subnet.Contains(ip) {
					t.Errorf("address %s twice or outside %s", ip, subnet)
				}
				seen[ip.String()] = true
			}
			if got := ips[len(ips)-1].String(); got != tc.last {
				t.Errorf("last address %s, want %s", got, tc.last)
			}
		})
	}
}

// The store as docs/podnet.md#ipam-store-format-version-1 specifies it, read back byte by byte.
func TestWritePodnetStoreIsTheDocumentedFormat(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "bench")
	_, subnet, _ := net.ParseCIDR("10.99.1.0/24")
	ips, err := writePodnetStore(dir, subnet, 3)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"10.99.1.2": "preload-0\neth0\n",
		"10.99.1.3": "preload-1\neth0\n",
		"10.99.1.5": "preload-2\neth0\n",
		"index":     "v1\n",
		// printf 'preload-1\neth0' | sha256sum: computed outside Go.
		"att-5092387ab1019fe50dcb3bf724345aa020fedff5413c2684ba22f9843eb3d55c": "10.99.1.3\n",
	}
	for i := range 3 {
		want[attEntryName(preloadID(i), "eth0")] = ips[i].String() + "\n"
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(want) {
		t.Errorf("%d files, want %d", len(entries), len(want))
	}
	for name, content := range want {
		path := filepath.Join(dir, name)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if string(data) != content {
			t.Errorf("%s holds %q, want %q", name, data, content)
		}
		if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", name, st.Mode().Perm())
		}
	}
	if st, _ := os.Stat(dir); st.Mode().Perm() != 0o700 {
		t.Errorf("store mode %v, want 0700", st.Mode().Perm())
	}
	count, err := countPodnetStore(dir)
	if err != nil || count.Reservations != 3 || len(count.Entries) != 3 || !count.Marker {
		t.Errorf("countPodnetStore = %+v, %v", count, err)
	}
	if _, err := writePodnetStore(dir, subnet, 3); err == nil {
		t.Error("writePodnetStore wrote over an existing store")
	}
}

func TestOwnNetworkAppliesTheEntrysSubnetAndChecksRoom(t *testing.T) {
	_, run, _ := net.ParseCIDR("10.99.1.0/24")
	o := Defaults() // 200 sequential, bursts of 200
	for _, tc := range []struct {
		name       string
		entry      Contender
		wantSubnet string
		wantErr    string
	}{
		{name: "the run's subnet", entry: Contender{}, wantSubnet: "10.99.1.0/24"},
		{name: "its own /16", entry: Contender{Network: "10.96.0.0/12", Subnet: "10.100.0.0/16"}, wantSubnet: "10.100.0.0/16"},
		{name: "20,000 preloaded in a /16", entry: Contender{Network: "10.96.0.0/12", Subnet: "10.100.0.0/16",
			Preload: &Preload{Reservations: 20000, Format: podnetStore}}, wantSubnet: "10.100.0.0/16"},
		{name: "a preload leaving too few for the pods", entry: Contender{Preload: &Preload{Reservations: 100, Format: podnetStore}},
			wantErr: "must fit the 153 free pod addresses of 10.99.1.0/24"},
		{name: "a preload that does not fit", entry: Contender{Network: "10.96.0.0/12", Subnet: "10.100.0.0/16",
			Preload: &Preload{Reservations: 50000, Format: podnetStore}}, wantErr: "do not fit 10.100.0.0/16"},
		{name: "a /25 for 200 pods", entry: Contender{Network: "10.96.0.0/12", Subnet: "10.100.0.0/25"},
			wantErr: "must fit the 125 free pod addresses"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := spec{subnet: run, preload: tc.entry.Preload}
			err := s.ownNetwork(tc.entry, o)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ownNetwork = %v, want an error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.subnet.String() != tc.wantSubnet || (tc.entry.Subnet != "" && (s.params.Subnet != tc.entry.Subnet || s.params.Network != tc.entry.Network)) {
				t.Errorf("subnet %s, params %s in %s; want %s", s.subnet, s.params.Subnet, s.params.Network, tc.wantSubnet)
			}
		})
	}
}
