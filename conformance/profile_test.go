package conformance

import (
	"io/fs"
	"path"
	"strings"
	"testing"
)

func TestShippedProfilesParse(t *testing.T) {
	files, err := fs.Glob(Testdata, "testdata/profiles/*.yaml")
	if err != nil || len(files) < 7 {
		t.Fatalf("profiles %v, %v", files, err)
	}
	for _, f := range files {
		data, err := Testdata.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		p, err := ParseProfile(f, data)
		if err != nil {
			t.Error(err)
			continue
		}
		if want := strings.TrimSuffix(path.Base(f), ".yaml"); p.Name != want {
			t.Errorf("%s: name %q, want %q", f, p.Name, want)
		}
		if _, err := Testdata.ReadFile("testdata/" + p.Name + ".json"); err != nil {
			t.Errorf("%s: no netconf beside it: %v", f, err)
		}
	}
}

func TestBadProfilesAreRefused(t *testing.T) {
	for _, tc := range []struct{ name, profile, err string }{
		{"unknown field", "name: x\nipam: {kind: dir}\nfixture: {uplink: u}\n", "unknown field"},
		{"unknown ipam kind", "ipam: {kind: etcd}\n", `ipam.kind "etcd"`},
		{"command without a command", "ipam: {kind: command}\n", "needs ipam.command"},
		{"unknown family", "dataPath: {families: [ipx]}\n", `"ipx"`},
		{"opt out of a clause", "optOut: {spec:DEL: no}\n", "not a convention"},
		{"unknown kernel link", "fixtures: {kernelLinks: [vxlan]}\n", `"vxlan"`},
		{"wrong type", "dataPath: {gateway: sometimes}\n", "gateway"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseProfile("p.yaml", []byte(tc.profile))
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error %v, want %q", err, tc.err)
			}
		})
	}
}

func TestEveryConventionIsExplained(t *testing.T) {
	for _, c := range conventions {
		if !strings.HasPrefix(c, "convention:") || conventionText[c] == "" {
			t.Errorf("%q", c)
		}
	}
	for k, c := range Clauses {
		if c.Key != k || c.Rule == "" || c.Section == "" || c.Version == "" {
			t.Errorf("clause %q: %+v", k, c)
		}
	}
}
