// Package report renders the results of cnigate's runs (the e2e matrix, the
// bench, the cluster bench, the netns conformance suite) for the people and
// tools that read them, in the Formats: JUnit XML (CI test views), a JSON
// document (tools; schema "report/v1"), a Markdown summary (GitHub's
// $GITHUB_STEP_SUMMARY) and one self-contained HTML page (inline CSS, JS
// and SVG; it loads nothing from the network).
//
// Its inputs are the types of package results, which the producers fill:
// FromE2E, FromBench, FromClusterBench and FromConformance lay a run out as
// a Report, in the producer's process or from the file `cnigate report`
// decoded; Write renders a Report into a directory in the formats asked
// for (all by default). WritePublished renders the published conformance
// report of several plugins (docs/conformance/README.md).
package report
