package probe

import (
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
