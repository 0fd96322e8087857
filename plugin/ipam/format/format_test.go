package format

import (
	"net"
	"testing"
)

// The names and contents below are the specification's examples: a change
// that breaks one changes the on-disk format (and Version).
func TestFormat(t *testing.T) {
	a := Attachment{ContainerID: "c1", IfName: "eth0"}
	for _, tc := range []struct {
		name, got, want string
	}{
		// printf 'c1\neth0' | sha256sum
		{"index entry name", AttName(a), "att-9bb0edf9ca5358c5b433b384925e39c7f4c7443d93d9b1ad662af0c9e6e0b608"},
		{"reservation", string(must(EncodeReservation(a))), "c1\neth0\n"},
		{"index entry", string(EncodeAtt([]net.IP{net.ParseIP("10.1.0.2").To4(), net.ParseIP("fd00::2")})), "10.1.0.2\nfd00::2\n"},
		{"last reserved", string(EncodeLastReserved(net.ParseIP("10.1.0.2"))), "10.1.0.2\n"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, tc.got, tc.want)
		}
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func TestParseAddressName(t *testing.T) {
	for _, tc := range []struct {
		name string
		want string // "" for not an address name
	}{
		{"10.1.0.2", "10.1.0.2"},
		{"fd00::2", "fd00::2"},
		{"fd00:0::2", ""}, // not canonical
		{"::ffff:10.1.0.2", ""},
		{"010.1.0.2", ""},
		{"lock", ""},
		{"att-00", ""},
	} {
		got := ParseAddressName(tc.name)
		if (got == nil) != (tc.want == "") || (got != nil && got.String() != tc.want) {
			t.Errorf("ParseAddressName(%q) = %v, want %q", tc.name, got, tc.want)
		}
		if got != nil && got.To4() != nil && len(got) != net.IPv4len {
			t.Errorf("ParseAddressName(%q): %d bytes, an IPv4 address is 4", tc.name, len(got))
		}
	}
}

func TestParseAtt(t *testing.T) {
	for _, tc := range []struct {
		data string
		ok   bool
	}{
		{"10.1.0.2\n", true},
		{"10.1.0.2\nfd00::2\n", true},
		{"", false},
		{"\n", false},
		{"10.1.0.2", false},
		{"10.1.0.2\n\n", false},
		{"garbage\n", false},
	} {
		if _, err := ParseAtt([]byte(tc.data)); (err == nil) != tc.ok {
			t.Errorf("ParseAtt(%q): %v, want ok=%v", tc.data, err, tc.ok)
		}
	}
}
