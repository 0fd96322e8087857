// Package report renders the results of cnigate's runs (the e2e matrix, the
// bench, the netns conformance suite) in four formats for the people and
// tools that read them: JUnit XML (CI test views), a JSON document (tools),
// a Markdown summary (GitHub's $GITHUB_STEP_SUMMARY) and one self-contained
// HTML page (inline CSS, JS and SVG; it loads nothing from the network).
//
// Each kind of run has its own input types, decoding the JSON its producer
// writes (matrix.json, bench.json, a Ginkgo JSON report), so this package
// imports none of the producers; FromE2E, FromBench and FromConformance turn
// an input into a Report, and Write renders a Report into a directory.
package report
