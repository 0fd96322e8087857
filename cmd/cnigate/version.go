package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"

	cniversion "github.com/containernetworking/cni/pkg/version"

	"github.com/cnigate/cnigate"
)

// version is set at build time: -ldflags "-X main.version=v1.2.3".
var version = ""

// buildVersion is the stamped version, else what the Go toolchain recorded:
// the module version (go install ...@v1.2.3) or the VCS revision.
func buildVersion() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = "-dirty"
			}
		}
	}
	if rev != "" {
		return "devel-" + rev[:min(12, len(rev))] + modified
	}
	return "devel"
}

type versionDoc struct {
	Version      string        `json:"version"`
	Go           string        `json:"go"`
	Platform     string        `json:"platform"`
	SpecVersions []string      `json:"cni_spec_versions"`
	Pins         []cnigate.Pin `json:"pins"`
}

func versionVerb() verb {
	return verb{name: "version", short: "print cnigate's version and the versions it pins",
		long:    "The CNI spec versions libcni knows, the modules pinned in go.mod and the *_VERSION pins of\nci/versions.sh, all embedded at build time.",
		example: "  cnigate version\n  cnigate version --output json | jq -r .version",
		define: func(fs *flag.FlagSet) runFunc {
			asJSON := fs.Bool("json", false, "print as JSON (the same as --output json)")
			out := outputFlag(fs)
			return func(_ context.Context, c *call) error {
				if err := noArgs(c); err != nil {
					return err
				}
				format, err := out.format()
				if err != nil {
					return err
				}
				return runVersion(c.stdout, *asJSON || format == outputJSON)
			}
		}}
}

func runVersion(stdout io.Writer, asJSON bool) error {
	pins, err := cnigate.Pins()
	if err != nil {
		return err
	}
	doc := versionDoc{
		Version: buildVersion(), Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH,
		SpecVersions: cniversion.All.SupportedVersions(), Pins: pins,
	}
	if asJSON {
		return writeJSON(stdout, doc)
	}
	fmt.Fprintf(stdout, "cnigate %s (%s, %s)\n", doc.Version, doc.Go, doc.Platform)
	fmt.Fprintf(stdout, "CNI spec versions: %s\n", strings.Join(doc.SpecVersions, " "))
	for _, p := range pins {
		fmt.Fprintf(stdout, "%-40s %-12s (%s)\n", p.Name, p.Version, p.From)
	}
	return nil
}
