package harness

import (
	"bytes"
	"encoding/json"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParsePing(t *testing.T) {
	ok := "PING 10.244.2.3 (10.244.2.3): 56 data bytes\n\n--- 10.244.2.3 ping statistics ---\n3 packets transmitted, 3 packets received, 0% packet loss\nround-trip min/avg/max = 0.071/0.086/0.100 ms\n"
	r, err := ParsePing(ok)
	if err != nil || r.Sent != 3 || r.Received != 3 || r.AvgRTT != 86*time.Microsecond {
		t.Errorf("ParsePing(ok) = %+v, %v", r, err)
	}
	lost := "PING 10.244.2.3 (10.244.2.3): 56 data bytes\n\n--- 10.244.2.3 ping statistics ---\n3 packets transmitted, 0 packets received, 100% packet loss\n"
	if r, err := ParsePing(lost); err == nil || !strings.Contains(err.Error(), "0 received") || r.Sent != 3 {
		t.Errorf("ParsePing(lost) = %+v, %v", r, err)
	}
	if _, err := ParsePing("ping: sendto: Network unreachable"); err == nil {
		t.Error("ParsePing(garbage): no error")
	}
}

func TestParseHTTP(t *testing.T) {
	r, err := ParseHTTP("rc=0 us=7837\n172.18.0.3\n")
	if err != nil || r.Body != "172.18.0.3" || r.Elapsed != 7837*time.Microsecond {
		t.Errorf("ParseHTTP(ok) = %+v, %v", r, err)
	}
	if _, err := ParseHTTP("rc=143 us=5000123\n"); err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Errorf("ParseHTTP(timeout) err = %v", err)
	}
	if _, err := ParseHTTP("OCI runtime exec failed"); err == nil {
		t.Error("ParseHTTP(garbage): no error")
	}
	for _, c := range []struct{ in, want string }{
		{"::ffff:10.244.1.7\n", "10.244.1.7"},
		{"[::ffff:172.30.0.3]", "172.30.0.3"},
		{"10.0.0.1", "10.0.0.1"},
		{"garbage", "garbage"},
	} {
		if got := SourceIP(c.in); got != c.want {
			t.Errorf("SourceIP(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestParseReservations(t *testing.T) {
	for _, tc := range []struct {
		name, out string
		want      []Reservation // nil with wantErr
		wantErr   bool
	}{
		{"podnet and host-local, other files left out",
			"@@ 10.244.1.2\nabc123\neth0\n\n@@ 10.244.1.3\r\ndef456\r\neth0\r\n\n@@ lock\n\n@@ last_reserved_ip.0\n10.244.1.3\n",
			[]Reservation{{"10.244.1.2", "abc123", "eth0"}, {"10.244.1.3", "def456", "eth0"}}, false},
		{"host-local as it writes it (no final newline), last file", "@@ fd00::5\nid1\r\neth0\n",
			[]Reservation{{"fd00::5", "id1", "eth0"}}, false},
		{"podnet, last file", "@@ 10.244.1.2\nabc123\neth0\n\n", []Reservation{{"10.244.1.2", "abc123", "eth0"}}, false},
		{"empty", "", nil, false},
		{"one line", "@@ 10.244.1.9\nonlyid\n", nil, true},
		{"three lines", "@@ 10.244.1.9\na\neth0\nx\n\n", nil, true},
		{"not the store's spelling of an address: not a reservation", "@@ fd00:0::2\nonlyid\n", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := ParseReservations(tc.out)
			if (err != nil) != tc.wantErr {
				t.Fatalf("error %v, want one: %v", err, tc.wantErr)
			}
			if !tc.wantErr && !slices.Equal(res, tc.want) {
				t.Errorf("got %+v, want %+v", res, tc.want)
			}
		})
	}
}

func TestSandboxID(t *testing.T) {
	id := strings.Repeat("ab12", 16)
	mi := "1 0 0:1 / / rw - overlay overlay rw\n" +
		"2 1 8:1 /var/lib/containerd/io.containerd.grpc.v1.cri/sandboxes/" + id + "/hosts /etc/hosts rw - ext4 /dev/sda1 rw\n"
	if got := SandboxID(mi); got != id {
		t.Errorf("SandboxID = %q", got)
	}
	if got := SandboxID("1 0 0:1 / / rw - overlay overlay rw\n"); got != "" {
		t.Errorf("SandboxID(no sandbox) = %q", got)
	}
	if !InPrefix("10.244.1.5", "10.244.1.0/24") || InPrefix("10.244.2.5", "10.244.1.0/24") || InPrefix("x", "10.244.1.0/24") {
		t.Error("InPrefix")
	}
}

func TestConflists(t *testing.T) {
	for _, c := range []struct {
		nn      NodeNet
		want    string
		plugins string
	}{
		{NodeNet{CNI: CNIPodnet, Network: "10.244.0.0/16", PodCIDR: "10.244.1.0/24", Portmap: true},
			`{"cniVersion":"1.0.0","name":"podnet","plugins":[{"bridge":"cni0","dataDir":"/var/lib/cni/podnet","ipMasq":true,"logFile":"/var/log/podnet.log","mtu":1500,"network":"10.244.0.0/16","subnet":"10.244.1.0/24","type":"podnet"},{"capabilities":{"portMappings":true},"type":"portmap"}]}`,
			"loopback podnet portmap"},
		{NodeNet{CNI: CNIPodnet, Network: "10.244.0.0/16", PodCIDR: "10.244.1.0/24", MTU: 1400},
			`{"cniVersion":"1.0.0","name":"podnet","plugins":[{"bridge":"cni0","dataDir":"/var/lib/cni/podnet","ipMasq":true,"logFile":"/var/log/podnet.log","mtu":1400,"network":"10.244.0.0/16","subnet":"10.244.1.0/24","type":"podnet"}]}`,
			"loopback podnet"},
		{NodeNet{CNI: CNIBridge, Network: "10.244.0.0/16", PodCIDR: "10.244.2.0/24", Portmap: true},
			`{"cniVersion":"1.0.0","name":"bridge","plugins":[{"bridge":"cni0","hairpinMode":true,"ipMasq":false,"ipam":{"ranges":[[{"subnet":"10.244.2.0/24"}]],"routes":[{"dst":"0.0.0.0/0"}],"type":"host-local"},"isGateway":true,"mtu":1500,"type":"bridge"},{"capabilities":{"portMappings":true},"type":"portmap"}]}`,
			"loopback bridge host-local portmap"},
		{NodeNet{CNI: CNIPodnet, Network: "10.244.0.0/16", PodCIDR: "10.244.1.0/24", Network6: "fd00:10:244::/56", PodCIDR6: "fd00:10:244:1::/64"},
			`{"cniVersion":"1.0.0","name":"podnet","plugins":[{"bridge":"cni0","dataDir":"/var/lib/cni/podnet","ipMasq":true,"logFile":"/var/log/podnet.log","mtu":1500,"network":"10.244.0.0/16","network6":"fd00:10:244::/56","subnet":"10.244.1.0/24","subnet6":"fd00:10:244:1::/64","type":"podnet"}]}`,
			"loopback podnet"},
		{NodeNet{CNI: CNIBridge, Network: "10.244.0.0/16", PodCIDR: "10.244.2.0/24", Network6: "fd00:10:244::/56", PodCIDR6: "fd00:10:244:2::/64"},
			`{"cniVersion":"1.0.0","name":"bridge","plugins":[{"bridge":"cni0","hairpinMode":true,"ipMasq":false,"ipam":{"ranges":[[{"subnet":"10.244.2.0/24"}],[{"subnet":"fd00:10:244:2::/64"}]],"routes":[{"dst":"0.0.0.0/0"},{"dst":"::/0"}],"type":"host-local"},"isGateway":true,"mtu":1500,"type":"bridge"}]}`,
			"loopback bridge host-local"},
		// IPv6 only: podnet with network6/subnet6 alone, bridge with one IPv6 range and ::/0
		{NodeNet{CNI: CNIPodnet, Network6: "fd00:10:244::/56", PodCIDR6: "fd00:10:244:1::/64", Portmap: true},
			`{"cniVersion":"1.0.0","name":"podnet","plugins":[{"bridge":"cni0","dataDir":"/var/lib/cni/podnet","ipMasq":true,"logFile":"/var/log/podnet.log","mtu":1500,"network6":"fd00:10:244::/56","subnet6":"fd00:10:244:1::/64","type":"podnet"},{"capabilities":{"portMappings":true},"type":"portmap"}]}`,
			"loopback podnet portmap"},
		{NodeNet{CNI: CNIBridge, Network6: "fd00:10:244::/56", PodCIDR6: "fd00:10:244:2::/64", Portmap: true},
			`{"cniVersion":"1.0.0","name":"bridge","plugins":[{"bridge":"cni0","hairpinMode":true,"ipMasq":false,"ipam":{"ranges":[[{"subnet":"fd00:10:244:2::/64"}]],"routes":[{"dst":"::/0"}],"type":"host-local"},"isGateway":true,"mtu":1500,"type":"bridge"},{"capabilities":{"portMappings":true},"type":"portmap"}]}`,
			"loopback bridge host-local portmap"},
	} {
		raw, err := c.nn.Conflist()
		if err != nil {
			t.Fatal(err)
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, raw); err != nil {
			t.Fatal(err)
		}
		if compact.String() != c.want {
			t.Errorf("%+v:\n got %s\nwant %s", c.nn, compact.String(), c.want)
		}
		if got := strings.Join(c.nn.Plugins(), " "); got != c.plugins {
			t.Errorf("%+v: plugins %q, want %q", c.nn, got, c.plugins)
		}
	}
	for _, bad := range []NodeNet{
		{CNI: "calico", Network: "10.244.0.0/16", PodCIDR: "10.244.1.0/24"},
		{CNI: CNIPodnet}, // no family at all
		{CNI: CNIBridge, Network6: "fd00:10:244::/56"},   // IPv6 network without its podCIDR
		{CNI: CNIPodnet, PodCIDR: "10.244.1.0/24"},       // IPv4 podCIDR without its network
		{CNI: CNIBridge, PodCIDR6: "fd00:10:244:1::/64"}, // IPv6 podCIDR without its network
	} {
		if _, err := bad.Conflist(); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

// TestPodSubnetRoutes: a node gets a route per other node's podCIDR via that
// node's address, in each family the nodes have; a node missing what its
// family needs (podCIDR, address of the family) is an error.
func TestPodSubnetRoutes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		nodes []NodeInfo
		want  string
		bad   []NodeInfo // each, added to nodes, must be refused
	}{
		{
			name: "ipv4",
			nodes: []NodeInfo{
				{Name: "cp", InternalIP: "172.18.0.2", PodCIDR: "10.244.0.0/24"},
				{Name: "w1", InternalIP: "172.18.0.3", PodCIDR: "10.244.1.0/24"},
				{Name: "w2", InternalIP: "172.18.0.4", PodCIDR: "10.244.2.0/24"},
			},
			want: "10.244.0.0/24 via 172.18.0.2,10.244.2.0/24 via 172.18.0.4",
			bad:  []NodeInfo{{Name: "w3", InternalIP: "172.18.0.5"}}, // no podCIDR
		},
		{
			name: "ipv6 only",
			nodes: []NodeInfo{
				{Name: "cp", InternalIP6: "fc00::2", PodCIDR6: "fd00:10:244::/64"},
				{Name: "w1", InternalIP6: "fc00::3", PodCIDR6: "fd00:10:244:1::/64"},
				{Name: "w2", InternalIP6: "fc00::4", PodCIDR6: "fd00:10:244:2::/64"},
			},
			want: "fd00:10:244::/64 via fc00::2,fd00:10:244:2::/64 via fc00::4",
			bad: []NodeInfo{
				{Name: "w3", InternalIP6: "fc00::5"},                                                 // no podCIDR in either family
				{Name: "w3", InternalIP6: "fc00::5", PodCIDR: "fd00:10:244:3::/64"},                  // IPv6 CIDR as the IPv4 podCIDR
				{Name: "w3", InternalIP: "fc00::5", PodCIDR: "10.244.3.0/24", PodCIDR6: "fd00::/64"}, // IPv4 gateway not IPv4
			},
		},
		{
			name: "dual",
			nodes: []NodeInfo{
				{Name: "w1", InternalIP: "172.18.0.3", PodCIDR: "10.244.1.0/24", InternalIP6: "fc00::3", PodCIDR6: "fd00:10:244:1::/64"},
				{Name: "w2", InternalIP: "172.18.0.4", PodCIDR: "10.244.2.0/24", InternalIP6: "fc00::4", PodCIDR6: "fd00:10:244:2::/64"},
			},
			want: "10.244.2.0/24 via 172.18.0.4,fd00:10:244:2::/64 via fc00::4",
			bad: []NodeInfo{
				{Name: "w3", InternalIP: "172.18.0.5", PodCIDR: "10.244.3.0/24", PodCIDR6: "fd00:10:244:3::/64"},                            // no IPv6 InternalIP
				{Name: "w3", InternalIP: "172.18.0.5", PodCIDR: "10.244.3.0/24", InternalIP6: "fc00::5", PodCIDR6: "10.245.0.0/24"},         // not IPv6
				{Name: "w3", InternalIP: "172.18.0.5", PodCIDR: "10.244.3.0/24", InternalIP6: "172.18.0.5", PodCIDR6: "fd00:10:244:3::/64"}, // gateway not IPv6
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := PodSubnetRoutes("w1", tc.nodes)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range rs {
				got = append(got, r.String())
			}
			if strings.Join(got, ",") != tc.want {
				t.Errorf("routes %v, want %s", got, tc.want)
			}
			for _, bad := range tc.bad {
				if _, err := PodSubnetRoutes("w1", append(slices.Clone(tc.nodes), bad)); err == nil {
					t.Errorf("%+v: no error", bad)
				}
			}
		})
	}
}

func TestExternalHostReachesEitherFamily(t *testing.T) {
	_, v4, _ := net.ParseCIDR("172.18.0.0/16")
	_, v6, _ := net.ParseCIDR("fc00:f853:ccd:e793::/64")
	for _, c := range []struct {
		h    ExternalHost
		ip   string
		want bool
	}{
		{ExternalHost{Subnet: v4, Subnet6: v6}, "172.18.0.3", true},
		{ExternalHost{Subnet: v4, Subnet6: v6}, "fc00:f853:ccd:e793::3", true},
		{ExternalHost{Subnet: v4, Subnet6: v6}, "172.19.0.3", false},
		{ExternalHost{Subnet: v4, Subnet6: v6}, "fc00:1::3", false},
		{ExternalHost{Subnet: v4}, "fc00:f853:ccd:e793::3", false}, // IPv6 not asked for
		{ExternalHost{Subnet: v4, Subnet6: v6}, "", false},
	} {
		if got := c.h.Reaches(c.ip); got != c.want {
			t.Errorf("Reaches(%q) with %v %v = %v, want %v", c.ip, c.h.Subnet, c.h.Subnet6, got, c.want)
		}
	}
}

func TestHermeticRuleCluster(t *testing.T) {
	spec := HermeticRule("br-0123456789ab", "cnigate-e2e")
	if got := strings.Join(spec, " "); got != `-i br-0123456789ab ! -o br-0123456789ab -m comment --comment cnigate-e2e hermetic: cnigate-e2e -j DROP` {
		t.Errorf("rule %q", got)
	}
	for _, c := range []struct {
		listed, cluster string
		ok              bool
	}{
		{`-A DOCKER-USER -i br-0123456789ab ! -o br-0123456789ab -m comment --comment "cnigate-e2e hermetic: cnigate-e2e" -j DROP`, "cnigate-e2e", true},
		{`-A DOCKER-USER -i br-1 ! -o br-1 -m comment --comment "cnigate-e2e hermetic: cnigate" -j DROP`, "cnigate", true},
		{`-A DOCKER-USER -j RETURN`, "", false},
		{`-A DOCKER-USER -m comment --comment "something else" -j DROP`, "", false},
	} {
		got, ok := HermeticRuleCluster(c.listed)
		if got != c.cluster || ok != c.ok {
			t.Errorf("HermeticRuleCluster(%q) = %q, %v; want %q, %v", c.listed, got, ok, c.cluster, c.ok)
		}
	}
}

func TestParseFirstNetConf(t *testing.T) {
	for _, c := range []struct{ out, file, typ string }{
		{"@@ 10-podnet.conflist\n{\"cniVersion\":\"1.0.0\",\"name\":\"podnet\",\"plugins\":[{\"type\":\"podnet\"},{\"type\":\"portmap\"}]}\n", "10-podnet.conflist", "podnet"},
		{"@@ 10-calico.conf\n{\"cniVersion\":\"0.3.1\",\"name\":\"k8s\",\"type\":\"calico\"}", "10-calico.conf", "calico"},
	} {
		file, typ, err := ParseFirstNetConf(c.out)
		if err != nil || file != c.file || typ != c.typ {
			t.Errorf("ParseFirstNetConf(%q) = %q, %q, %v", c.out, file, typ, err)
		}
	}
	for _, bad := range []string{"", "@@ x.conf\nnot json", "@@ x.conflist\n{\"plugins\":[]}"} {
		if _, _, err := ParseFirstNetConf(bad); err == nil {
			t.Errorf("ParseFirstNetConf(%q): no error", bad)
		}
	}
}

func TestParseProbe(t *testing.T) {
	f, err := ParseProbe("ok packet=1500 df=true try=1 rtt_us=922\n")
	if err != nil || f["packet"] != "1500" || f["df"] != "true" {
		t.Errorf("ok: %v %v", f, err)
	}
	if _, err := ParseProbe("fail no echo of a 1500-byte packet\n"); err == nil || !strings.Contains(err.Error(), "no echo") {
		t.Errorf("fail: %v", err)
	}
	if _, err := ParseProbe("OCI runtime exec failed"); err == nil {
		t.Error("garbage: no error")
	}
}
