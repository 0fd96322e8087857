package cni

import (
	"path"
	"slices"
	"strings"
	"testing"
)

// TestCNITable: every CNI of the table is complete (plugins, install, store,
// CI runs in known families, a conflist in each family) and the names and
// main plugin types are unique, since the matrix tells the CNI by its type.
func TestCNITable(t *testing.T) {
	families := map[string]NodeNet{
		"ipv4": {Network: "10.244.0.0/16", PodCIDR: "10.244.1.0/24"},
		"ipv6": {Network6: "fd00:10:244::/56", PodCIDR6: "fd00:10:244:1::/64"},
		"dual": {Network: "10.244.0.0/16", PodCIDR: "10.244.1.0/24", Network6: "fd00:10:244::/56", PodCIDR6: "fd00:10:244:1::/64"},
	}
	names, types := map[string]bool{}, map[string]bool{}
	for _, c := range CNIs {
		switch {
		case c.Name == "" || names[c.Name]:
			t.Errorf("CNI %q: empty or twice", c.Name)
		case len(c.Plugins) == 0 || types[c.Type()]:
			t.Errorf("%s: no plugins, or its main type is another CNI's", c.Name)
		case c.Install != InstallManifest && c.Install != InstallConflist:
			t.Errorf("%s: install %q", c.Name, c.Install)
		case !path.IsAbs(c.StoreDir):
			t.Errorf("%s: store dir %q is not absolute", c.Name, c.StoreDir)
		case c.Summary == "" || len(c.CI) == 0:
			t.Errorf("%s: no summary or no CI run", c.Name)
		}
		names[c.Name] = true
		if len(c.Plugins) > 0 {
			types[c.Type()] = true
		}
		for _, r := range c.CI {
			nn, ok := families[r.Family]
			if !ok {
				t.Errorf("%s: CI run in family %q", c.Name, r.Family)
				continue
			}
			nn.CNI = c.Name
			if _, err := nn.Conflist(); err != nil {
				t.Errorf("%s %s: %v", c.Name, r.Family, err)
			}
		}
		if got, ok := OfType(c.Type()); !ok || got.Name != c.Name {
			t.Errorf("OfType(%q) = %q %v, want %q", c.Type(), got.Name, ok, c.Name)
		}
	}
	if CNIs[0].Name != NamePodnet {
		t.Errorf("the default (first) CNI is %q, want podnet", CNIs[0].Name)
	}
	if _, err := Lookup("calico"); err == nil || !strings.Contains(err.Error(), "podnet, bridge") {
		t.Errorf("Lookup(calico): %v, want an error naming podnet, bridge", err)
	}
}

// TestCIRuns: what .ci/run and the GitHub workflow run, from the table.
func TestCIRuns(t *testing.T) {
	wantLocal := []string{
		"CNI=podnet IP_FAMILY=ipv4 K8S_CONFORMANCE=1",
		"CNI=podnet IP_FAMILY=dual E2E_AGENT_KILLS=5",
		"CNI=podnet IP_FAMILY=ipv6 E2E_AGENT_KILLS=5",
		"CNI=bridge IP_FAMILY=dual",
	}
	if got := CILocalRuns(); !slices.Equal(got, wantLocal) {
		t.Errorf("local runs:\n got %q\nwant %q", got, wantLocal)
	}
	raw, err := CIGitHubMatrix()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"include":[{"cni":"podnet","family":"ipv4","k8s_conformance":"1"},{"cni":"podnet","family":"dual","k8s_conformance":"1"},{"cni":"podnet","family":"ipv6"},` +
		`{"cni":"bridge","family":"ipv4","k8s_conformance":"1"},{"cni":"bridge","family":"ipv6"},{"cni":"bridge","family":"dual","k8s_conformance":"1"}]}`
	if string(raw) != want {
		t.Errorf("GitHub matrix:\n got %s\nwant %s", raw, want)
	}
}
