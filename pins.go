// Package cnigate reports what the repository pins, read at build time from
// the files that pin it (go.mod and ci/versions.sh, embedded), so the pins
// have one source and `cnigate version` cannot drift from it.
package cnigate

import (
	_ "embed"
	"regexp"
	"strings"

	"golang.org/x/mod/modfile"
)

//go:embed go.mod
var goMod []byte

//go:embed ci/versions.sh
var versionsSh string

// Pin is one pinned name and version.
type Pin struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	// From is the file that pins it.
	From string `json:"from"`
}

// pinnedModules are the modules of go.mod worth naming in `cnigate version`.
var pinnedModules = []string{
	"github.com/containernetworking/cni",
	"github.com/containernetworking/plugins",
	"sigs.k8s.io/kind",
	"sigs.k8s.io/e2e-framework",
	"github.com/onsi/ginkgo/v2",
}

var shellPin = regexp.MustCompile(`^([A-Z][A-Z0-9_]*_VERSION)=([^\s#]+)`)

// Pins lists the Go version and the modules of go.mod, then the *_VERSION
// variables of ci/versions.sh (Kubernetes and the node image's parts).
func Pins() ([]Pin, error) {
	f, err := modfile.ParseLax("go.mod", goMod, nil)
	if err != nil {
		return nil, err
	}
	var pins []Pin
	if f.Go != nil {
		pins = append(pins, Pin{Name: "go", Version: f.Go.Version, From: "go.mod"})
	}
	versions := map[string]string{}
	for _, r := range f.Require {
		versions[r.Mod.Path] = r.Mod.Version
	}
	for _, m := range pinnedModules {
		if v, ok := versions[m]; ok {
			pins = append(pins, Pin{Name: m, Version: v, From: "go.mod"})
		}
	}
	for line := range strings.SplitSeq(versionsSh, "\n") {
		if m := shellPin.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
			name := strings.ToLower(strings.TrimSuffix(m[1], "_VERSION"))
			pins = append(pins, Pin{Name: name, Version: m[2], From: "ci/versions.sh"})
		}
	}
	return pins, nil
}
