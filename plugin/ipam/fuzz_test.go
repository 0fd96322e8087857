package ipam

import (
	"bytes"
	"net"
	"testing"
)

// FuzzParseReservation: the parser never panics, accepts only what
// FormatReservation writes, and round-trips it exactly.
func FuzzParseReservation(f *testing.F) {
	for _, seed := range []string{"c1\neth0\n", "", "\n\n", "c1\neth0", "c1\neth0\nx\n", " c\ne\n", "c\x00\ne\n"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := ParseReservation(data)
		if err != nil {
			return
		}
		again, err := FormatReservation(a)
		if err != nil {
			t.Fatalf("parsed %q into %v, which does not format: %v", data, a, err)
		}
		if !bytes.Equal(again, data) {
			t.Fatalf("parsed %q into %v, which formats as %q", data, a, again)
		}
	})
}

// FuzzParseLastReserved: the record parser never panics and accepts only a
// canonical address (IPv4 as 4 bytes) and a newline.
func FuzzParseLastReserved(f *testing.F) {
	for _, seed := range []string{"10.244.1.7\n", "", "10.244.1.7", "::1\n", "::ffff:10.0.0.1\n", "010.1.1.1\n", "10.244.1.7\n\n", "fd00::2\n", "fd00:0::2\n", "FD00::2\n"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ip := ParseLastReserved(data)
		if ip == nil {
			return
		}
		if ip.String()+"\n" != string(data) || (ip.To4() != nil) != (len(ip) == net.IPv4len) {
			t.Fatalf("accepted %q as %v", data, ip)
		}
	})
}
