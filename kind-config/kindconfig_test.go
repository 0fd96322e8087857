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

func TestRenderRejectsBadOptions(t *testing.T) {
	for _, o := range []Options{{Workers: 2}, {Name: "c"}, {Name: "c", Workers: 1, PodSubnet: "10.244.0.0"}} {
		if _, err := Render(o); err == nil {
			t.Errorf("Render(%+v): no error", o)
		}
	}
}
