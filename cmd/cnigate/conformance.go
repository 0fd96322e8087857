package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/cnigate/cnigate/conformance"
	_ "github.com/cnigate/cnigate/conformance/podnetspecs" // podnet's own specs (label podnet)
	"github.com/cnigate/cnigate/report"
)

// errHostUnsupported: the host cannot run the plugin at all (exit status 3).
var errHostUnsupported = errors.New("host cannot run the plugin")

// ginkgoT is the GinkgoTestingT Ginkgo needs outside `go test`: a failed
// suite is read from RunSpecs' answer, so Fail only records it.
type ginkgoT struct{ failed bool }

func (t *ginkgoT) Fail() { t.failed = true }

func runConformance(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("conformance", stderr)
	plugin := fs.String("plugin", "", "the plugin binary under test (required)")
	netconf := fs.String("netconf", "", "its network config: a plain netconf, or a Go template with {{.CNIVersion}} {{.Name}} {{.DataDir}} {{.Network}} {{.Subnet}} {{.MTU}}; or builtin:FILE for a shipped one (builtin:podnet.json, builtin:ptp.json, ...)")
	conflist := fs.String("conflist", "", "a conflist instead of --netconf: its first plugin is tested with the config libcni hands it")
	cniPath := fs.String("cni-path", "", "CNI_PATH for the plugin (IPAM plugins; default: the plugin's directory)")
	chainPath := fs.String("chain-cni-path", "", "directory with upstream portmap for the chaining specs (default: --cni-path)")
	profilePath := fs.String("profile", "", "profile file (YAML or JSON), or builtin:NAME (podnet, bridge, ptp, macvlan, ipvlan, host-device, vlan)")
	labels := fs.String("labels", "", "Ginkgo label filter (default: generic, or 'generic || podnet' for podnet's profile)")
	focus := fs.String("focus", "", "only specs whose text matches this regular expression")
	known := fs.String("known-failures", "", "list of specs the plugin is known to fail (spec text | why): green when the failures are exactly these; builtin:NAME for a shipped list")
	dir := fs.String("report-dir", "_artifacts", "where to write the reports")
	name := fs.String("name", "conformance", "base name of the report files")
	timeout := fs.Duration("timeout", 30*time.Minute, "the whole suite's time limit")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *plugin == "" {
		return usagef("--plugin is required")
	}
	if (*netconf == "") == (*conflist == "") {
		return usagef("give one of --netconf and --conflist")
	}
	o := conformance.Options{Plugin: *plugin, CNIPath: *cniPath, ChainCNIPath: *chainPath}
	var err error
	o.NetConfName, o.ConfList = *netconf+*conflist, *conflist != ""
	if o.NetConf, err = readInput(o.NetConfName, "testdata/%s"); err != nil {
		return err
	}
	if *profilePath != "" {
		data, err := readInput(*profilePath, "testdata/profiles/%s.yaml")
		if err != nil {
			return err
		}
		if o.Profile, err = conformance.ParseProfile(*profilePath, data); err != nil {
			return err
		}
	}
	var knownList []byte
	if *known != "" {
		if knownList, err = readInput(*known, "testdata/%s.known-failures"); err != nil {
			return err
		}
	}
	if *labels == "" {
		*labels = "generic"
		if o.Profile.Name == "podnet" {
			*labels = "generic || podnet"
		}
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	ginkgoJSON := filepath.Join(*dir, *name+".ginkgo.json")
	suite, reporter := types.NewDefaultSuiteConfig(), types.NewDefaultReporterConfig()
	suite.LabelFilter, suite.Timeout = *labels, *timeout
	if *focus != "" {
		suite.FocusStrings = []string{*focus}
	}
	reporter.JSONReport, reporter.ShowNodeEvents = ginkgoJSON, true
	reporter.NoColor = os.Getenv("NO_COLOR") != "" || !isTerminal(os.Stdout)
	fmt.Fprintf(stdout, "cnigate conformance: %s with %s, labels %q\n", *plugin, o.NetConfName, *labels)

	t := &ginkgoT{}
	passed, err := conformance.Run(t, o, suite, reporter)
	var hostErr conformance.HostError
	if errors.As(err, &hostErr) {
		fmt.Fprintf(stderr, "cnigate conformance: %v\n", err)
		// For the published report: why this plugin has no results.
		if err := os.WriteFile(filepath.Join(*dir, *name+".not-run.txt"), []byte(err.Error()+"\n"), 0o644); err != nil {
			return err
		}
		return errHostUnsupported
	}
	if err != nil {
		return err
	}
	specs, err := writeConformanceReports(ginkgoJSON, *dir, *name, stdout)
	if err != nil {
		return err
	}
	if knownList != nil {
		ok, err := conformance.DecideKnownFailures(specs, knownList, *known, stdout)
		if err != nil {
			return err
		}
		passed = ok
	}
	if !passed || (t.failed && knownList == nil) {
		return errFailed
	}
	return nil
}

// writeConformanceReports renders the run's Ginkgo JSON report (written by
// Ginkgo, read back: the suite hands its results over as that file) in
// every format and returns its specs.
func writeConformanceReports(ginkgoJSON, dir, name string, stdout io.Writer) ([]types.SpecReport, error) {
	run, err := decodeGinkgoJSON(ginkgoJSON)
	if err != nil {
		return nil, err
	}
	r := report.FromConformance(run)
	paths, err := report.Write(dir, name, r)
	if err != nil {
		return nil, err
	}
	printWritten(stdout, r, append(paths, ginkgoJSON))
	return run.Specs(), nil
}

// readInput reads a file, or "builtin:NAME" from the suite's embedded
// testdata (pattern places NAME), so the binary needs no repository.
func readInput(arg, pattern string) ([]byte, error) {
	if builtin, ok := strings.CutPrefix(arg, "builtin:"); ok {
		data, err := conformance.Testdata.ReadFile(fmt.Sprintf(pattern, builtin))
		if err != nil {
			return nil, usagef("%s: no such built-in file (%v)", arg, err)
		}
		return data, nil
	}
	return os.ReadFile(arg)
}

// isTerminal reports whether f is a character device (a terminal), where
// colours help; a log file gets none.
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
