package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/cnigate/cnigate/results"
)

// publishedFixture: the conformance fixture as two plugins, one whose failure
// is on its known-failures list (or both, when allKnown), and one that could
// not run; the runs' checkout is /home/someone/cnigate, quoted in a
// failure's message.
func publishedFixture(t *testing.T, allKnown bool) Published {
	t.Helper()
	run := func(plugin string) PublishedRun {
		c := conformanceFixture(t)
		c.Plugin = plugin
		for i := range c.Reports {
			c.Reports[i].SuitePath = "/home/someone/cnigate"
			for j := range c.Reports[i].SpecReports {
				s := &c.Reports[i].SpecReports[j]
				if s.State.String() == "failed" {
					s.Failure.Message = "ran /home/someone/cnigate/bin/" + plugin + " in /var/tmp/cnitest-123/spec-456/data: " + s.Failure.Message
					s.Failure.Location.FileName = "/home/someone/cnigate/conformance/lifecycle.go"
				}
			}
		}
		return PublishedRun{Conformance: *c}
	}
	known := run("known")
	unknown := run("unknown")
	known.Known = map[string]string{}
	for _, s := range known.Specs() {
		if s.State.String() == "failed" {
			known.Known[s.FullText()] = "the plugin does this on purpose"
			if allKnown {
				unknown.Known = known.Known
			}
		}
	}
	return Published{Runs: []PublishedRun{known, unknown, {Conformance: results.Conformance{Plugin: "ipvlan", NotRun: "no ipvlan in this kernel"}}},
		Clauses: []Clause{{Label: "spec:ADD", Version: "1.1.0", Section: "ADD", Rule: "adds"}}}
}

func TestPublishedHTMLSaysWhetherEveryFailureWasKnown(t *testing.T) {
	for _, tc := range []struct {
		name     string
		allKnown bool
		headline string
		newMark  bool
	}{
		{"one plugin fails off its list", false, "1 NEW failures (not in the known-failures lists), 1 known", true},
		{"every failure known", true, "as expected: 2 known failures, 0 new", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WritePublishedHTML(&b, publishedFixture(t, tc.allKnown), "conformance", []Fact{{Name: "kernel", Value: "6.1"}}); err != nil {
				t.Fatal(err)
			}
			page := b.String()
			if !strings.Contains(page, `id="verdict">`+tc.headline+`<`) {
				t.Errorf("headline: want %q in the verdict", tc.headline)
			}
			if got := strings.Contains(page, `<span class="new">NEW</span>`); got != tc.newMark {
				t.Errorf("a failure marked NEW: %v, want %v", got, tc.newMark)
			}
			if strings.Contains(page, "/home/someone") || strings.Contains(page, "/var/tmp") {
				t.Error("the page quotes a path of the machine that ran the suite")
			}
			for _, want := range []string{
				"ran ./bin/known in $SPEC_DIR/data", "conformance/lifecycle.go:", // scrubbed, still said
				`<td><a href="#ipvlan">ipvlan</a></td><td colspan="6"`, // not run, in the summary
				`<h2 id="unknown">unknown</h2>`,                        // a section per plugin
				"<th>clause</th><th><a href=\"#known\">known</a></th>", // the grid's columns are the plugins
				"<code>other</code>",                                   // specs without a clause label
				"all 4 specs by cniVersion",                            // the lifecycle specs, one row each across versions
			} {
				if !strings.Contains(page, want) {
					t.Errorf("the page lacks %q", want)
				}
			}
		})
	}
}
