package cnigate

import "testing"

func TestPinsComeFromGoModAndVersionsSh(t *testing.T) {
	pins, err := Pins()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Pin{}
	for _, p := range pins {
		got[p.Name] = p
	}
	for _, want := range []struct{ name, from string }{
		{"go", "go.mod"},
		{"github.com/containernetworking/cni", "go.mod"},
		{"github.com/containernetworking/plugins", "go.mod"},
		{"sigs.k8s.io/kind", "go.mod"},
		{"kubernetes", "ci/versions.sh"},
		{"etcd", "ci/versions.sh"},
	} {
		p, ok := got[want.name]
		if !ok || p.Version == "" || p.From != want.from {
			t.Errorf("pin %s = %+v, want a version from %s", want.name, p, want.from)
		}
	}
}
