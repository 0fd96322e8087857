package kindconfig

import (
	"strings"
	"testing"

	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	"sigs.k8s.io/yaml"
)

func TestRenderIsAValidKindConfig(t *testing.T) {
	for _, workers := range []int{1, 2, 5} {
		raw, err := Render(Options{Name: "c", Workers: workers, Image: "cnigate/node:v1.34.4"})
		if err != nil {
			t.Fatalf("workers=%d: %v", workers, err)
		}
		var c v1alpha4.Cluster
		if err := yaml.UnmarshalStrict(raw, &c); err != nil {
			t.Fatalf("workers=%d: not a kind v1alpha4 config: %v\n%s", workers, err, raw)
		}
		if c.Kind != "Cluster" || c.APIVersion != "kind.x-k8s.io/v1alpha4" || c.Name != "c" {
			t.Errorf("workers=%d: header %q %q %q", workers, c.Kind, c.APIVersion, c.Name)
		}
		if !c.Networking.DisableDefaultCNI || c.Networking.PodSubnet != PodSubnet {
			t.Errorf("workers=%d: networking %+v", workers, c.Networking)
		}
		if len(c.Nodes) != workers+1 {
			t.Fatalf("workers=%d: %d nodes", workers, len(c.Nodes))
		}
		for i, n := range c.Nodes {
			want := v1alpha4.WorkerRole
			if i == 0 {
				want = v1alpha4.ControlPlaneRole
			}
			if n.Role != want || n.Image != "cnigate/node:v1.34.4" {
				t.Errorf("workers=%d node %d: role %q image %q", workers, i, n.Role, n.Image)
			}
		}
	}
}

func TestRenderWithoutImageLeavesItOut(t *testing.T) {
	raw, err := Render(Options{Name: "c", Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "image:") {
		t.Errorf("unexpected image line:\n%s", raw)
	}
}

func TestRenderIPFamily(t *testing.T) {
	for _, tc := range []struct {
		family, wantFamily, wantSubnet string
	}{
		{"", "ipv4", PodSubnet},
		{IPv4, "ipv4", PodSubnet},
		{IPv6, "ipv6", PodSubnet6},
		{Dual, "dual", PodSubnet + "," + PodSubnet6},
	} {
		raw, err := Render(Options{Name: "c", Workers: 2, IPFamily: tc.family})
		if err != nil {
			t.Fatalf("ipFamily %q: %v", tc.family, err)
		}
		var c v1alpha4.Cluster
		if err := yaml.UnmarshalStrict(raw, &c); err != nil {
			t.Fatalf("ipFamily %q: not a kind config: %v\n%s", tc.family, err, raw)
		}
		if string(c.Networking.IPFamily) != tc.wantFamily || c.Networking.PodSubnet != tc.wantSubnet {
			t.Errorf("ipFamily %q: networking.ipFamily %q podSubnet %q, want %q %q", tc.family, c.Networking.IPFamily, c.Networking.PodSubnet, tc.wantFamily, tc.wantSubnet)
		}
		// the Service subnet is kind's default for the family (ipv6: fd00:10:96::/112)
		if c.Networking.ServiceSubnet != "" {
			t.Errorf("ipFamily %q: serviceSubnet %q, want kind's default", tc.family, c.Networking.ServiceSubnet)
		}
	}
}

func TestFamilies(t *testing.T) {
	for f, want := range map[string]string{IPv4: "ipv4", IPv6: "ipv6", Dual: "ipv4,ipv6", "ipv5": ""} {
		if got := strings.Join(Families(f), ","); got != want {
			t.Errorf("Families(%q) = %q, want %q", f, got, want)
		}
	}
}

func TestRenderIPv6IgnoresTheIPv4Subnet(t *testing.T) {
	raw, err := Render(Options{Name: "c", Workers: 1, IPFamily: IPv6, PodSubnet: "10.1.0.0/16", PodSubnet6: "fd00:1::/56"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), "podSubnet: fd00:1::/56\n") || strings.Contains(string(raw), "10.1.0.0") {
		t.Errorf("ipv6 config carries an IPv4 pod subnet or lacks the IPv6 one:\n%s", raw)
	}
}

func TestRenderRejectsBadOptions(t *testing.T) {
	for _, o := range []Options{{Workers: 2}, {Name: "c"}, {Name: "c", Workers: 1, PodSubnet: "10.244.0.0"},
		{Name: "c", Workers: 1, IPFamily: "ipv5"},
		{Name: "c", Workers: 1, IPFamily: IPv6, PodSubnet6: "10.245.0.0/16"},
		{Name: "c", Workers: 1, IPFamily: IPv6, PodSubnet6: "::ffff:10.245.0.0/112"},
		{Name: "c", Workers: 1, IPFamily: Dual, PodSubnet: "fd00:1::/56"},
		{Name: "c", Workers: 1, IPFamily: Dual, PodSubnet6: "10.245.0.0/16"}} {
		if _, err := Render(o); err == nil {
			t.Errorf("Render(%+v): no error", o)
		}
	}
}
