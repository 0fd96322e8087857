// Package buildinfo is the version and commit of every binary of the
// project (cnigate, podnet, podnet-agent), one stamping mechanism:
//
//	-ldflags "-X github.com/cnigate/cnigate/internal/buildinfo.version=v1.2.3 -X github.com/cnigate/cnigate/internal/buildinfo.commit=abc123"
//
// Unstamped (go build, go install), they come from what the Go toolchain
// recorded: the module version (go install ...@v1.2.3) or the VCS revision.
package buildinfo

import (
	"runtime/debug"
)

// Set by the linker (-X); empty when not stamped.
var (
	version string
	commit  string
)

// Version is the stamped version, else the module's (go install
// ...@version), else "devel-<revision>[-dirty]", else "devel".
func Version() string {
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
	if rev, dirty := vcs(info); rev != "" {
		return "devel-" + rev[:min(12, len(rev))] + dirty
	}
	return "devel"
}

// Commit is the stamped commit, else the VCS revision Go recorded, else
// "unknown".
func Commit() string {
	if commit != "" {
		return commit
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		if rev, _ := vcs(info); rev != "" {
			return rev
		}
	}
	return "unknown"
}

func vcs(info *debug.BuildInfo) (rev, dirty string) {
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	return rev, dirty
}
