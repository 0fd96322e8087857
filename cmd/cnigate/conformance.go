package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/cnigate/cnigate/conformance"
	_ "github.com/cnigate/cnigate/conformance/podnetspecs" // podnet's own specs (label podnet)
	"github.com/cnigate/cnigate/internal/testfilter"
	"github.com/cnigate/cnigate/report"
	"github.com/cnigate/cnigate/results"
)

// errHostUnsupported: the host cannot run the plugin at all (exit status 3).
var errHostUnsupported = errors.New("host cannot run the plugin")

// ginkgoT is the GinkgoTestingT Ginkgo needs outside `go test`: a failed
// suite is read from RunSpecs' answer, so Fail only records it.
type ginkgoT struct{ failed bool }

func (t *ginkgoT) Fail() { t.failed = true }

func conformanceVerb() verb {
	return verb{name: "conformance", args: "--plugin PATH --netconf FILE|--conflist FILE", short: "run the netns conformance suite against a CNI plugin binary (root)",
		long: "The suite is compiled in (Ginkgo runs inside the binary); the netconfs, profiles and known-failure\n" +
			"lists of conformance/testdata are embedded (builtin:NAME). --test selects specs by their full\n" +
			"text (Ginkgo's focus; !REGEX: skip), on top of --labels; --list prints the specs that would\n" +
			"run (a dry run: nothing is created, but the plugin is asked for its versions). See docs/conformance.md.",
		example: "  cnigate conformance --plugin /opt/cni/bin/ptp --netconf builtin:ptp.json --profile builtin:ptp\n" +
			"  cnigate conformance --plugin bin/podnet --netconf builtin:podnet.json --profile builtin:podnet --test 'DEL,!cniVersion 0\\.' --list",
		define: conformanceFlags}
}

func conformanceFlags(fs *flag.FlagSet) runFunc {
	plugin := fs.String("plugin", "", "the plugin binary under test (required)")
	netconf := fs.String("netconf", "", "its network config: a plain netconf, or a Go template with {{.CNIVersion}} {{.Name}} {{.DataDir}} {{.Network}} {{.Subnet}} {{.MTU}}; or builtin:FILE for a shipped one (builtin:podnet.json, builtin:ptp.json, ...)")
	conflist := fs.String("conflist", "", "a conflist instead of --netconf: its first plugin is tested with the config libcni hands it")
	cniPath := fs.String("cni-path", "", "CNI_PATH for the plugin (IPAM plugins; default: the plugin's directory)")
	chainPath := fs.String("chain-cni-path", "", "directory with upstream portmap for the chaining specs (default: --cni-path)")
	profilePath := fs.String("profile", "", "profile file (YAML or JSON), or builtin:NAME (podnet, bridge, ptp, macvlan, ipvlan, host-device, vlan)")
	labels := fs.String("labels", "", "Ginkgo label filter (default: generic, or 'generic || podnet' for podnet's profile)")
	var tests testfilter.Filter
	fs.Var(&tests, "test", "only specs whose full text matches one of these regular expressions (repeat, or comma-separate); !REGEX skips the specs it matches")
	focus := fs.String("focus", "", "only specs whose text matches this regular expression (as --test REGEX)")
	list := fs.Bool("list", false, "print the specs that would run, run none")
	known := fs.String("known-failures", "", "list of specs the plugin is known to fail (spec text | why): green when the failures are exactly these; builtin:NAME for a shipped list")
	dir := fs.String("report-dir", "_artifacts", "where to write the reports")
	name := fs.String("name", "conformance", "base name of the report files")
	timeout := fs.Duration("timeout", 30*time.Minute, "the whole suite's time limit")
	out := outputFlag(fs)
	return func(_ context.Context, c *call) error {
		format, err := out.format()
		if err != nil {
			return err
		}
		r := conformanceRun{plugin: *plugin, netconf: *netconf, conflist: *conflist, cniPath: *cniPath, chainPath: *chainPath,
			profile: *profilePath, labels: *labels, tests: tests, focus: *focus, list: *list, known: *known, dir: *dir, name: *name,
			timeout: *timeout, json: format == outputJSON}
		if err := noArgs(c); err != nil {
			return err
		}
		return r.run(c.stdout, c.stderr)
	}
}

// conformanceRun is one conformance command line.
type conformanceRun struct {
	plugin, netconf, conflist, cniPath, chainPath, profile, labels, focus, known, dir, name string
	tests                                                                                   testfilter.Filter
	list, json                                                                              bool
	timeout                                                                                 time.Duration
}

// suiteConfig is Ginkgo's selection of specs: labels, --test and --focus.
func (r conformanceRun) suiteConfig() types.SuiteConfig {
	suite := types.NewDefaultSuiteConfig()
	suite.LabelFilter, suite.Timeout = r.labels, r.timeout
	suite.FocusStrings = r.tests.Includes()
	if r.focus != "" {
		suite.FocusStrings = append(suite.FocusStrings, r.focus)
	}
	suite.SkipStrings = r.tests.Excludes()
	suite.DryRun = r.list
	return suite
}

func (r conformanceRun) run(stdout, stderr io.Writer) error {
	plugin, netconf, conflist, cniPath, chainPath, profilePath, labels, known := &r.plugin, &r.netconf, &r.conflist, &r.cniPath, &r.chainPath, &r.profile, &r.labels, &r.known
	dir, name := &r.dir, &r.name
	if *plugin == "" {
		return usagef("--plugin is required")
	}
	if (*netconf == "") == (*conflist == "") {
		return usagef("give one of --netconf and --conflist")
	}
	msgs := stdout // with --output json, stdout is the document alone
	if r.json {
		msgs = stderr
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
	if r.list { // a dry run whose report is read back and thrown away
		tmp, err := os.MkdirTemp("", "cnigate-list-")
		if err != nil {
			return err
		}
		defer func() { _ = os.RemoveAll(tmp) }()
		*dir = tmp
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	ginkgoJSON := filepath.Join(*dir, *name+".ginkgo.json")
	suite, reporter := r.suiteConfig(), types.NewDefaultReporterConfig()
	reporter.JSONReport, reporter.ShowNodeEvents = ginkgoJSON, true
	reporter.NoColor = os.Getenv("NO_COLOR") != "" || !isTerminal(os.Stdout)
	if r.list || r.json { // Ginkgo's progress must not mix with the list or the document
		reporter.Succinct = true
		doc, restore, err := quietStdout(stdout)
		if err != nil {
			return err
		}
		defer restore()
		stdout = doc
	}
	fmt.Fprintf(msgs, "cnigate conformance: %s with %s, labels %q\n", *plugin, o.NetConfName, *labels)

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
	if r.list {
		return listSpecs(ginkgoJSON, stdout, r.json)
	}
	specs, run, err := writeConformanceReports(ginkgoJSON, *dir, *name, msgs)
	if err != nil {
		return err
	}
	if r.json {
		if err := writeJSON(stdout, run); err != nil {
			return err
		}
	}
	if knownList != nil {
		ok, err := conformance.DecideKnownFailures(specs, knownList, *known, msgs)
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
func writeConformanceReports(ginkgoJSON, dir, name string, stdout io.Writer) ([]types.SpecReport, *results.Conformance, error) {
	run, err := results.ReadConformance(ginkgoJSON)
	if err != nil {
		return nil, nil, err
	}
	r := report.FromConformance(run)
	paths, err := report.Write(dir, name, r)
	if err != nil {
		return nil, nil, err
	}
	printWritten(stdout, r, append(paths, ginkgoJSON))
	return run.Specs(), run, nil
}

// listSpecs prints the specs a dry run would have run, one full text a
// line (or as a JSON list).
func listSpecs(ginkgoJSON string, stdout io.Writer, asJSON bool) error {
	run, err := results.ReadConformance(ginkgoJSON)
	if err != nil {
		return err
	}
	names := []string{}
	for _, s := range run.Specs() {
		if s.LeafNodeType == types.NodeTypeIt && s.State == types.SpecStatePassed { // a dry run passes what it would run
			names = append(names, s.FullText())
		}
	}
	if asJSON {
		return writeJSON(stdout, names)
	}
	for _, n := range names {
		fmt.Fprintln(stdout, n)
	}
	return nil
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
