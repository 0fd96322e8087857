package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cnigate/cnigate"
	"github.com/cnigate/cnigate/conformance"
	"github.com/cnigate/cnigate/report"
	"github.com/cnigate/cnigate/results"
)

// pairs is a repeatable NAME=VALUE flag, in the order given.
type pairs [][2]string

func (p *pairs) String() string { return fmt.Sprint(*p) }

func (p *pairs) Set(s string) error {
	name, value, ok := strings.Cut(s, "=")
	if !ok || name == "" || value == "" {
		return fmt.Errorf("want NAME=FILE, got %q", s)
	}
	*p = append(*p, [2]string{name, value})
	return nil
}

func publishVerb() verb {
	return verb{name: "publish", args: "--run PLUGIN=GINKGO_JSON [--run ...]", short: "write the published conformance report of several plugins (docs/conformance)",
		long:    "README.md (per plugin: clauses x versions, failures with their known reasons) and index.html.",
		example: "  cnigate publish --run bridge=_artifacts/netns-upstream-bridge.ginkgo.json --known bridge=conformance/testdata/bridge.known-failures --out docs/conformance",
		define: func(fs *flag.FlagSet) runFunc {
			var runs, known, notRun pairs
			fs.Var(&runs, "run", "`PLUGIN=FILE`: a plugin's Ginkgo JSON report (repeat; the report keeps this order)")
			fs.Var(&known, "known", "`PLUGIN=FILE`: the plugin's known-failures list (its reasons are printed with the failures)")
			fs.Var(&notRun, "not-run", "`PLUGIN=FILE`: a plugin this host could not run, FILE saying why (cnigate conformance's NAME.not-run.txt)")
			out := fs.String("out", "docs/conformance", "directory of the published report (README.md, index.html)")
			return func(_ context.Context, c *call) error {
				if err := noArgs(c); err != nil {
					return err
				}
				return runPublish(runs, known, notRun, *out, c.stdout)
			}
		}}
}

func runPublish(runs, known, notRun pairs, outDir string, stdout io.Writer) error {
	out := &outDir
	if len(runs)+len(notRun) == 0 {
		return usagef("give at least one --run")
	}
	knownOf := map[string]map[string]string{}
	for _, k := range known {
		data, err := os.ReadFile(k[1])
		if err != nil {
			return err
		}
		if knownOf[k[0]], err = conformance.ParseKnownFailures(data, k[1]); err != nil {
			return err
		}
	}
	pub := report.Published{Header: publishedHeader(), Clauses: publishedClauses(), Brief: conformance.BriefReason}
	for _, r := range runs {
		run, err := results.ReadConformance(r[1])
		if err != nil {
			return err
		}
		run.Plugin = r[0]
		pub.Runs = append(pub.Runs, report.PublishedRun{Conformance: *run, Known: knownOf[r[0]]})
	}
	for _, n := range notRun {
		why, err := os.ReadFile(n[1])
		if err != nil {
			return err
		}
		pub.Runs = append(pub.Runs, report.PublishedRun{Conformance: results.Conformance{Plugin: n[0], NotRun: strings.TrimSpace(string(why))}})
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(*out, "README.md"))
	if err != nil {
		return err
	}
	if err := report.WritePublished(f, pub); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	// The same results as one page: the verdict against the known-failures
	// lists, the plugin x clause grid, then each plugin.
	var page bytes.Buffer
	if err := report.WritePublishedHTML(&page, pub, "CNI plugin conformance: upstream reference plugins and podnet", publishedFacts(pub)); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(*out, "index.html"), page.Bytes(), 0o644); err != nil { //nolint:gosec // a published page
		return err
	}
	fmt.Fprintf(stdout, "published %s and %s\n", filepath.Join(*out, "README.md"), filepath.Join(*out, "index.html"))
	return nil
}

// publishedClauses are the suite's SPEC clauses, then its conventions, for
// the published report's last table.
func publishedClauses() []report.Clause {
	var out []report.Clause
	for _, k := range slices.Sorted(maps.Keys(conformance.Clauses)) {
		c := conformance.Clauses[k]
		out = append(out, report.Clause{Label: k, Version: c.Version, Section: c.Section, Rule: c.Rule})
	}
	for _, label := range conformance.ConventionLabels() {
		out = append(out, report.Clause{Label: label, Rule: conformance.ConventionRule(label), Convention: true})
	}
	return out
}

// publishedFacts: when, on what kernel, with which cnigate and reference
// plugins the published runs were made.
func publishedFacts(pub report.Published) []report.Fact {
	var started time.Time
	for _, r := range pub.Runs {
		for _, rep := range r.Reports {
			if started.IsZero() || rep.StartTime.Before(started) {
				started = rep.StartTime
			}
		}
	}
	kernel := "?"
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		kernel = unix.ByteSliceToString(u.Release[:])
	}
	return []report.Fact{
		{Name: "runs started", Value: started.UTC().Format("2006-01-02 15:04 MST")},
		{Name: "kernel (of the machine that published)", Value: kernel},
		{Name: "cnigate", Value: buildVersion()},
		{Name: "reference plugins", Value: "containernetworking/plugins " + referencePlugins()},
		{Name: "regenerate", Value: "make conformance-report"},
	}
}

// referencePlugins is the pinned containernetworking/plugins version.
func referencePlugins() string {
	if pins, err := cnigate.Pins(); err == nil {
		for _, p := range pins {
			if p.Name == "github.com/containernetworking/plugins" {
				return p.Version
			}
		}
	}
	return "?"
}

func publishedHeader() string {
	plugins := referencePlugins()
	return fmt.Sprintf(`# CNI plugin conformance: upstream reference plugins and podnet

Generated by `+"`make conformance-report`"+` (do not edit by hand): the netns conformance suite
(`+"`cnigate conformance`"+`, cnigate %s) against the containernetworking/plugins reference
plugins at %s, each with host-local, and podnet, each driven by its profile
(`+"`conformance/testdata/profiles/`"+`). Only the generic specs run: they rest on the CNI SPEC (the
clause each one rests on is in the last table) or, labelled `+"`convention:...`"+`, on what
runtimes rely on where the SPEC is silent. A cell is passed/ran for the specs resting on that clause
at that cniVersion ("once": specs that run at the newest version only). The same results as one
page: [index.html](index.html).
`, buildVersion(), plugins)
}
