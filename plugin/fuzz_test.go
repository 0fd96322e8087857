package main

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/containernetworking/cni/pkg/types"
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
		`{`, `[]`, `null`, `{"name":1}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		n, _, err := loadNetConf(data)
		if err != nil {
			var cniErr *types.Error
			if !errors.As(err, &cniErr) || cniErr.Msg == "" {
				t.Fatalf("loadNetConf(%q) failed without a CNI error: %v", data, err)
			}
			return
		}
		netOnes, _ := n.network.Mask.Size()
		subOnes, _ := n.pool.Subnet.Mask.Size()
		switch {
		case !networkNameRE.MatchString(n.Name) || len(n.Name) > maxNameLen:
			t.Fatalf("accepted name %q", n.Name)
		case len(n.RawIPAM) > 0:
			t.Fatalf("accepted an ipam section: %s", n.RawIPAM)
		case netOnes < minNetworkPrefix || n.network.IP.To4() == nil:
			t.Fatalf("accepted network %s", n.network)
		case !n.network.Contains(n.pool.Subnet.IP) || subOnes < netOnes || n.pool.Size() < 1:
			t.Fatalf("accepted subnet %s of network %s", n.pool.Subnet, n.network)
		case n.MTU < minMTU || n.MTU > maxMTU:
			t.Fatalf("accepted mtu %d", n.MTU)
		case validateIfName(n.Bridge) != nil:
			t.Fatalf("accepted bridge %q", n.Bridge)
		case !filepath.IsAbs(n.DataDir) || filepath.Clean(n.DataDir) != n.DataDir:
			t.Fatalf("accepted dataDir %q", n.DataDir)
		case n.LogFile != "" && (!filepath.IsAbs(n.LogFile) || filepath.Clean(n.LogFile) != n.LogFile):
			t.Fatalf("accepted logFile %q", n.LogFile)
		}
		for _, r := range unusableRanges {
			if r.cidr.Contains(n.network.IP) || n.network.Contains(r.cidr.IP) {
				t.Fatalf("accepted network %s overlapping %s", n.network, r.what)
			}
		}
	})
}
