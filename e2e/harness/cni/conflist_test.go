package cni

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestConflists(t *testing.T) {
	for _, c := range []struct {
		nn      NodeNet
		want    string
		plugins string
	}{
		{NodeNet{CNI: NamePodnet, Network: "10.244.0.0/16", PodCIDR: "10.244.1.0/24", Portmap: true},
			`{"cniVersion":"1.0.0","name":"podnet","plugins":[{"bridge":"cni0","dataDir":"/var/lib/cni/podnet","ipMasq":true,"logFile":"/var/log/podnet.log","mtu":1500,"network":"10.244.0.0/16","subnet":"10.244.1.0/24","type":"podnet"},{"capabilities":{"portMappings":true},"type":"portmap"}]}`,
			"loopback podnet portmap"},
		{NodeNet{CNI: NamePodnet, Network: "10.244.0.0/16", PodCIDR: "10.244.1.0/24", MTU: 1400},
			`{"cniVersion":"1.0.0","name":"podnet","plugins":[{"bridge":"cni0","dataDir":"/var/lib/cni/podnet","ipMasq":true,"logFile":"/var/log/podnet.log","mtu":1400,"network":"10.244.0.0/16","subnet":"10.244.1.0/24","type":"podnet"}]}`,
			"loopback podnet"},
		{NodeNet{CNI: NameBridge, Network: "10.244.0.0/16", PodCIDR: "10.244.2.0/24", Portmap: true},
			`{"cniVersion":"1.0.0","name":"bridge","plugins":[{"bridge":"cni0","hairpinMode":true,"ipMasq":false,"ipam":{"ranges":[[{"subnet":"10.244.2.0/24"}]],"routes":[{"dst":"0.0.0.0/0"}],"type":"host-local"},"isGateway":true,"mtu":1500,"type":"bridge"},{"capabilities":{"portMappings":true},"type":"portmap"}]}`,
			"loopback bridge host-local portmap"},
		{NodeNet{CNI: NamePodnet, Network: "10.244.0.0/16", PodCIDR: "10.244.1.0/24", Network6: "fd00:10:244::/56", PodCIDR6: "fd00:10:244:1::/64"},
			`{"cniVersion":"1.0.0","name":"podnet","plugins":[{"bridge":"cni0","dataDir":"/var/lib/cni/podnet","ipMasq":true,"logFile":"/var/log/podnet.log","mtu":1500,"network":"10.244.0.0/16","network6":"fd00:10:244::/56","subnet":"10.244.1.0/24","subnet6":"fd00:10:244:1::/64","type":"podnet"}]}`,
			"loopback podnet"},
		{NodeNet{CNI: NameBridge, Network: "10.244.0.0/16", PodCIDR: "10.244.2.0/24", Network6: "fd00:10:244::/56", PodCIDR6: "fd00:10:244:2::/64"},
			`{"cniVersion":"1.0.0","name":"bridge","plugins":[{"bridge":"cni0","hairpinMode":true,"ipMasq":false,"ipam":{"ranges":[[{"subnet":"10.244.2.0/24"}],[{"subnet":"fd00:10:244:2::/64"}]],"routes":[{"dst":"0.0.0.0/0"},{"dst":"::/0"}],"type":"host-local"},"isGateway":true,"mtu":1500,"type":"bridge"}]}`,
			"loopback bridge host-local"},
		// IPv6 only: podnet with network6/subnet6 alone, bridge with one IPv6 range and ::/0
		{NodeNet{CNI: NamePodnet, Network6: "fd00:10:244::/56", PodCIDR6: "fd00:10:244:1::/64", Portmap: true},
			`{"cniVersion":"1.0.0","name":"podnet","plugins":[{"bridge":"cni0","dataDir":"/var/lib/cni/podnet","ipMasq":true,"logFile":"/var/log/podnet.log","mtu":1500,"network6":"fd00:10:244::/56","subnet6":"fd00:10:244:1::/64","type":"podnet"},{"capabilities":{"portMappings":true},"type":"portmap"}]}`,
			"loopback podnet portmap"},
		{NodeNet{CNI: NameBridge, Network6: "fd00:10:244::/56", PodCIDR6: "fd00:10:244:2::/64", Portmap: true},
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
		{CNI: NamePodnet}, // no family at all
		{CNI: NameBridge, Network6: "fd00:10:244::/56"},   // IPv6 network without its podCIDR
		{CNI: NamePodnet, PodCIDR: "10.244.1.0/24"},       // IPv4 podCIDR without its network
		{CNI: NameBridge, PodCIDR6: "fd00:10:244:1::/64"}, // IPv6 podCIDR without its network
	} {
		if _, err := bad.Conflist(); err == nil {
			t.Errorf("%+v: no error", bad)
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
