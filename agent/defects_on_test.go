//go:build podnet_defects

package agent

import (
	"net/netip"
	"testing"
)

const defectsBuild = true

func TestNextSubnet(t *testing.T) {
	for in, want := range map[string]string{
		"10.244.1.0/24":      "10.244.2.0/24",
		"10.244.255.0/24":    "10.245.0.0/24",
		"10.244.0.128/25":    "10.244.1.0/25",
		"fd00:10:244:1::/64": "fd00:10:244:2::/64",
	} {
		if got := nextSubnet(netip.MustParsePrefix(in)); got.String() != want {
			t.Errorf("nextSubnet(%s) = %s, want %s", in, got, want)
		}
	}
}
