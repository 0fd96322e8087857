package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"runtime"
	"strings"

	cniversion "github.com/containernetworking/cni/pkg/version"

	"github.com/cnigate/cnigate"
	"github.com/cnigate/cnigate/internal/buildinfo"
)

// buildVersion is cnigate's version (internal/buildinfo: stamped at build,
// else what the Go toolchain recorded).
func buildVersion() string { return buildinfo.Version() }

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
