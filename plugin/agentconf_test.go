package main

import (
	"testing"

	"github.com/containernetworking/cni/libcni"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cnigate/cnigate/agent"
	"github.com/cnigate/cnigate/plugin/netconf"
)

// TestAgentConflistAccepted: the conflist podnet-agent writes (agent.
// RenderConflist, through netconf.Entry) is what podnet accepts: its podnet
// entry, as libcni hands it to the plugin (name and cniVersion injected),
// passes loadNetConf and configures the families, subnets and settings the
// agent's config and the node's podCIDRs say.
func TestAgentConflistAccepted(t *testing.T) {
	tests := []struct {
		name, config string
		podCIDRs     []string
		subnet       string // "" when the family is not configured
		subnet6      string
		ipMasq       bool
	}{
		{"IPv4", `{"network":"10.244.0.0/16","logFile":"/var/log/podnet.log"}`, []string{"10.244.1.0/24"}, "10.244.1.0/24", "", true},
		{"IPv6", `{"network6":"fd00:10:244::/56","ipMasq":false}`, []string{"fd00:10:244:1::/64"}, "", "fd00:10:244:1::/64", false},
		{"dual", `{"network":"10.244.0.0/16","network6":"fd00:10:244::/56","cniVersion":"1.1.0","mtu":1450,"bridge":"podbr0","hairpinMode":false}`,
			[]string{"fd00:10:244:1::/64", "10.244.1.0/24"}, "10.244.1.0/24", "fd00:10:244:1::/64", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := agent.ParseConfig([]byte(tt.config))
			if err != nil {
				t.Fatal(err)
			}
			node := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Spec: v1.NodeSpec{PodCIDR: tt.podCIDRs[0], PodCIDRs: tt.podCIDRs}}
			out, err := agent.RenderConflist(c, node)
			if err != nil {
				t.Fatal(err)
			}
			list, err := libcni.NetworkConfFromBytes(out)
			if err != nil {
				t.Fatalf("libcni refuses the agent's conflist: %v\n%s", err, out)
			}
			if len(list.Plugins) == 0 || list.Plugins[0].Network.Type != netconf.Type {
				t.Fatalf("first plugin is not podnet:\n%s", out)
			}
			entry, err := libcni.InjectConf(list.Plugins[0], map[string]any{"name": list.Name, "cniVersion": list.CNIVersion})
			if err != nil {
				t.Fatal(err)
			}
			n, cniVersion, err := loadNetConf(entry.Bytes)
			if err != nil {
				t.Fatalf("podnet refuses the agent's entry: %v\n%s", err, entry.Bytes)
			}
			want := netconf.Podnet{
				Network: c.Network, Subnet: tt.subnet, Network6: c.Network6, Subnet6: tt.subnet6,
				Bridge: c.Bridge, MTU: c.MTU, IPMasq: &c.IPMasq, HairpinMode: &c.HairpinMode,
				DataDir: c.DataDir, LogFile: c.LogFile, NodeAgent: true,
			}
			if tt.subnet == "" {
				want.Network = ""
			}
			if tt.subnet6 == "" {
				want.Network6 = ""
			}
			got := n.Podnet
			if got.Network != want.Network || got.Subnet != want.Subnet || got.Network6 != want.Network6 || got.Subnet6 != want.Subnet6 ||
				got.Bridge != want.Bridge || got.MTU != want.MTU || got.DataDir != want.DataDir || got.LogFile != want.LogFile ||
				got.NodeAgent != want.NodeAgent || n.masquerade() != tt.ipMasq || n.hairpin() != c.HairpinMode {
				t.Errorf("podnet read %+v (ipMasq %v, hairpin %v), want %+v (ipMasq %v)\n%s", got, n.masquerade(), n.hairpin(), want, tt.ipMasq, entry.Bytes)
			}
			if cniVersion != c.CNIVersion || n.Name != c.Name {
				t.Errorf("name %q cniVersion %q, want %q %q", n.Name, cniVersion, c.Name, c.CNIVersion)
			}
			if len(n.families) != len(tt.podCIDRs) {
				t.Errorf("%d families configured, want %d", len(n.families), len(tt.podCIDRs))
			}
		})
	}
}
