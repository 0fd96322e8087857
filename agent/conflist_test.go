package agent

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func mustConfig(t testing.TB, conf string) *Config {
	t.Helper()
	c, err := ParseConfig([]byte(conf))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// node is a Node with podCIDRs and InternalIPs.
func node(name string, podCIDRs []string, ips ...string) *v1.Node {
	n := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1.NodeSpec{PodCIDRs: podCIDRs}}
	if len(podCIDRs) > 0 {
		n.Spec.PodCIDR = podCIDRs[0]
	}
	for _, ip := range ips {
		n.Status.Addresses = append(n.Status.Addresses, v1.NodeAddress{Type: v1.NodeInternalIP, Address: ip})
	}
	return n
}

func TestRenderConflist(t *testing.T) {
	const (
		v4   = `{"network":"10.244.0.0/16","logFile":"/var/log/podnet.log"}`
		v6   = `{"network6":"fd00:10:244::/56"}`
		dual = `{"network":"10.244.0.0/16","network6":"fd00:10:244::/56","ipMasq":false,"hairpinMode":false}`
	)
	podnet := func(fields string) string {
		return `{"cniVersion":"1.0.0","name":"podnet","plugins":[{"type":"podnet",` + fields +
			`},{"type":"portmap","capabilities":{"portMappings":true}}]}`
	}
	withMTU := func(n *v1.Node, mtu string) *v1.Node {
		n.Annotations = map[string]string{MTUAnnotation: mtu}
		return n
	}
	legacy := node("n1", nil)
	legacy.Spec.PodCIDR = "10.244.1.0/24" // spec.podCIDR only, no spec.podCIDRs
	tests := []struct {
		name, conf string
		node       *v1.Node
		want       string // the conflist; "" when an error is expected
		wantErr    string
	}{
		{"IPv4", v4, node("n1", []string{"10.244.1.0/24"}),
			podnet(`"network":"10.244.0.0/16","subnet":"10.244.1.0/24","bridge":"cni0","mtu":1500,"ipMasq":true,"hairpinMode":true,"dataDir":"/var/lib/cni/podnet","logFile":"/var/log/podnet.log","nodeAgent":true`), ""},
		{"IPv6", v6, node("n1", []string{"fd00:10:244:1::/64"}),
			podnet(`"network6":"fd00:10:244::/56","subnet6":"fd00:10:244:1::/64","bridge":"cni0","mtu":1500,"ipMasq":true,"hairpinMode":true,"dataDir":"/var/lib/cni/podnet","nodeAgent":true`), ""},
		{"dual", dual, node("n1", []string{"fd00:10:244:1::/64", "10.244.1.0/24"}),
			podnet(`"network":"10.244.0.0/16","subnet":"10.244.1.0/24","network6":"fd00:10:244::/56","subnet6":"fd00:10:244:1::/64","bridge":"cni0","mtu":1500,"ipMasq":false,"hairpinMode":false,"dataDir":"/var/lib/cni/podnet","nodeAgent":true`), ""},
		{"dual config, IPv4-only node", dual, node("n1", []string{"10.244.1.0/24"}),
			podnet(`"network":"10.244.0.0/16","subnet":"10.244.1.0/24","bridge":"cni0","mtu":1500,"ipMasq":false,"hairpinMode":false,"dataDir":"/var/lib/cni/podnet","nodeAgent":true`), ""},
		{"IPv4 config, dual node", v4, node("n1", []string{"10.244.1.0/24", "fd00:10:244:1::/64"}),
			podnet(`"network":"10.244.0.0/16","subnet":"10.244.1.0/24","bridge":"cni0","mtu":1500,"ipMasq":true,"hairpinMode":true,"dataDir":"/var/lib/cni/podnet","logFile":"/var/log/podnet.log","nodeAgent":true`), ""},
		{"spec.podCIDR only", v4, legacy,
			podnet(`"network":"10.244.0.0/16","subnet":"10.244.1.0/24","bridge":"cni0","mtu":1500,"ipMasq":true,"hairpinMode":true,"dataDir":"/var/lib/cni/podnet","logFile":"/var/log/podnet.log","nodeAgent":true`), ""},
		{"MTU annotation", v4, withMTU(node("n1", []string{"10.244.1.0/24"}), "1450"),
			podnet(`"network":"10.244.0.0/16","subnet":"10.244.1.0/24","bridge":"cni0","mtu":1450,"ipMasq":true,"hairpinMode":true,"dataDir":"/var/lib/cni/podnet","logFile":"/var/log/podnet.log","nodeAgent":true`), ""},
		{"no portmap", `{"network":"10.244.0.0/16","portmap":false}`, node("n1", []string{"10.244.1.0/24"}),
			`{"cniVersion":"1.0.0","name":"podnet","plugins":[{"type":"podnet","network":"10.244.0.0/16","subnet":"10.244.1.0/24","bridge":"cni0","mtu":1500,"ipMasq":true,"hairpinMode":true,"dataDir":"/var/lib/cni/podnet","nodeAgent":true}]}`, ""},
		{"cniVersion 1.1.0 (STATUS and GC)", `{"network":"10.244.0.0/16","portmap":false,"cniVersion":"1.1.0"}`, node("n1", []string{"10.244.1.0/24"}),
			`{"cniVersion":"1.1.0","name":"podnet","plugins":[{"type":"podnet","network":"10.244.0.0/16","subnet":"10.244.1.0/24","bridge":"cni0","mtu":1500,"ipMasq":true,"hairpinMode":true,"dataDir":"/var/lib/cni/podnet","nodeAgent":true}]}`, ""},
		{"MTU annotation not a number", v4, withMTU(node("n1", []string{"10.244.1.0/24"}), "jumbo"), "", MTUAnnotation},
		{"MTU annotation too small", v4, withMTU(node("n1", []string{"10.244.1.0/24"}), "67"), "", MTUAnnotation},
		{"no podCIDR", v4, node("n1", nil), "", "--allocate-node-cidrs"},
		{"only a podCIDR of another family", v6, node("n1", []string{"10.244.1.0/24"}), "", "--pod-network-cidr"},
		{"podCIDR outside network", v4, node("n1", []string{"10.245.1.0/24"}), "", `outside the configured "network" 10.244.0.0/16`},
		{"podCIDR wider than network", v4, node("n1", []string{"10.0.0.0/8"}), "", "outside"},
		{"IPv6 podCIDR outside network6", v6, node("n1", []string{"fd00:99::/64"}), "", `"network6"`},
		{"podCIDR not a CIDR", v4, node("n1", []string{"10.244.1.0"}), "", "not a CIDR"},
		{"podCIDR too small for pods", v4, node("n1", []string{"10.244.1.0/31"}), "", "10.244.1.0/31"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := RenderConflist(mustConfig(t, tt.conf), tt.node)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v (conf %s), want an error mentioning %q", err, got, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var compact, want any
			if err := json.Unmarshal(got, &compact); err != nil {
				t.Fatalf("not JSON: %s", got)
			}
			if err := json.Unmarshal([]byte(tt.want), &want); err != nil {
				t.Fatal(err)
			}
			g, _ := json.Marshal(compact)
			w, _ := json.Marshal(want)
			if string(g) != string(w) {
				t.Fatalf("got  %s\nwant %s", g, w)
			}
			// The same inputs give the same bytes (an unchanged conf is never rewritten).
			again, _ := RenderConflist(mustConfig(t, tt.conf), tt.node)
			if string(again) != string(got) {
				t.Fatal("rendering is not deterministic")
			}
		})
	}
}

func TestNoPodCIDRIsErrNoPodCIDR(t *testing.T) {
	_, err := RenderConflist(mustConfig(t, `{"network":"10.244.0.0/16"}`), node("n1", nil))
	if !errors.Is(err, ErrNoPodCIDR) || !strings.Contains(err.Error(), "n1") {
		t.Fatalf("got %v, want ErrNoPodCIDR naming the node", err)
	}
}
