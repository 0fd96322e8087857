// Command cnigate is the one binary of the cnigate harness:
//
//	cnigate version                       its version and the versions it pins
//	cnigate report e2e|bench|conformance  render a run's JSON in the four report formats
//	cnigate bench                         the plugin benchmark (root)
//
// Every subcommand writes its reports to --report-dir (default _artifacts):
// JUnit XML, a JSON document, a Markdown summary and a self-contained HTML
// page (see package report). Exit status: 0 when everything it ran passed,
// 1 when something failed, 2 on a usage error.
package main
