package main

import (
	"errors"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/containernetworking/cni/pkg/types"

	"github.com/cnigate/cnigate/plugin/confcheck"
	"github.com/cnigate/cnigate/plugin/ipam"
)

// FuzzLoadNetConf: the config decoder never panics, fails only with a CNI
// error, and whatever it accepts holds every invariant the rest of podnet
// relies on.
func FuzzLoadNetConf(f *testing.F) {
	for _, seed := range []string{
		`{"cniVersion":"1.0.0","name":"mynet","type":"podnet","network":"10.244.0.0/16","subnet":"10.244.1.0/24"}`,
		`{"cniVersion":"1.1.0","name":"n","type":"podnet","network":"10.0.0.0/8","subnet":"10.1.0.0/30","bridge":"br-x","mtu":9000,"ipMasq":false,"hairpinMode":false,"dataDir":"/d","logFile":"/l"}`,
		`{"cniVersion":"1.0.0","name":"n","type":"podnet","network":"0.0.0.0/0","subnet":"10.244.1.0/24"}`,
		`{"cniVersion":"1.0.0","name":"n","type":"podnet","network":"10.244.0.0/16","subnet":"10.244.1.0/24","ipam":{}}`,
		`{"cniVersion":"1.0.0","name":"n","type":"podnet","network":"10.244.0.0/16","subnet":"10.244.1.0/24","subnet":"10.244.2.0/24"}`,
		`{"cniVersion":"1.0.0","name":"n","type":"podnet","network":"10.244.0.0/16","subnet":"10.244.1.0/24","prevResult":{"cniVersion":"1.0.0","ips":[{"address":"10.244.1.2/24","interface":2}]}}`,
		`{"cniVersion":"1.1.0","name":"n","type":"podnet","network":"10.244.0.0/16","subnet":"10.244.1.0/24","cni.dev/valid-attachments":[{"containerID":"c","ifname":"eth0"}]}`,
		`{"cniVersion":"1.1.0","name":"n","type":"podnet","network6":"fd00:10:244::/56","subnet6":"fd00:10:244:1::/64"}`,
		`{"cniVersion":"1.1.0","name":"n","type":"podnet","network":"10.244.0.0/16","subnet":"10.244.1.0/24","network6":"fd00:10:244::/56","subnet6":"fd00:10:244:1::/64"}`,
		`{"cniVersion":"1.1.0","name":"n","type":"podnet","network6":"::ffff:10.0.0.0/104","subnet6":"::ffff:10.0.1.0/120"}`,
		`{"cniVersion":"1.1.0","name":"n","type":"podnet","network6":"fe80::/10","subnet6":"fe80::/64"}`,
		`{`, `[]`, `null`, `{"name":1}`,
	} {
		f.Add([]byte(seed))
	}
	// The CNI spec's rule as a regexp, the oracle of confcheck's hand-written check.
	specName := regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$`)
	f.Fuzz(func(t *testing.T, data []byte) {
		n, _, err := loadNetConf(data)
		if err != nil {
			var cniErr *types.Error
			if !errors.As(err, &cniErr) || cniErr.Msg == "" {
				t.Fatalf("loadNetConf(%q) failed without a CNI error: %v", data, err)
			}
			return
		}
		switch {
		case !specName.MatchString(n.Name) || len(n.Name) > confcheck.MaxNameLen:
			t.Fatalf("accepted name %q", n.Name)
		case len(n.RawIPAM) > 0:
			t.Fatalf("accepted an ipam section: %s", n.RawIPAM)
		case len(n.families) == 0 || len(n.families) > 2 || (len(n.families) == 2 && (n.families[0].ipv6 || !n.families[1].ipv6)):
			t.Fatalf("accepted families %+v", n.families)
		case n.MTU < confcheck.MinMTU || n.MTU > confcheck.MaxMTU:
			t.Fatalf("accepted mtu %d", n.MTU)
		case confcheck.IfName(n.Bridge) != nil:
			t.Fatalf("accepted bridge %q", n.Bridge)
		case !filepath.IsAbs(n.DataDir) || filepath.Clean(n.DataDir) != n.DataDir:
			t.Fatalf("accepted dataDir %q", n.DataDir)
		case n.LogFile != "" && (!filepath.IsAbs(n.LogFile) || filepath.Clean(n.LogFile) != n.LogFile):
			t.Fatalf("accepted logFile %q", n.LogFile)
		}
		for _, f := range n.families {
			netOnes, netBits := f.network.Mask.Size()
			subOnes, _ := f.pool.Subnet.Mask.Size()
			minPrefix, unusable, bits := confcheck.MinNetworkPrefix, confcheck.UnusableRanges, 32
			if f.ipv6 {
				minPrefix, unusable, bits = confcheck.MinNetwork6Prefix, confcheck.UnusableRanges6, 128
			}
			switch {
			case netOnes < minPrefix || netBits != bits || (f.network.IP.To4() == nil) != f.ipv6:
				t.Fatalf("accepted network %s", f.network)
			case !f.network.Contains(f.pool.Subnet.IP) || subOnes < netOnes || f.pool.Size() < 1 || f.pool.IPv6() != f.ipv6:
				t.Fatalf("accepted subnet %s of network %s", f.pool.Subnet, f.network)
			case f.ipv6 && (subOnes < ipam.MinPrefixLen6 || subOnes > ipam.MaxPrefixLen6):
				t.Fatalf("accepted subnet6 %s", f.pool.Subnet)
			}
			for _, r := range unusable {
				if r.CIDR.Contains(f.network.IP) || f.network.Contains(r.CIDR.IP) {
					t.Fatalf("accepted network %s overlapping %s", f.network, r.What)
				}
			}
		}
	})
}
