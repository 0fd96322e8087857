// Package podnetspecs holds podnet's own conformance specs (labelled
// "podnet"): its bridge, routes and rules, its IPAM store, its error codes
// and how it survives a hostile or unlucky runtime, on top of the
// plugin-agnostic suite (package conformance), whose testbed they use.
// Importing it registers the specs into the suite, as importing conformance
// registers the generic ones; `cnigate conformance` and `go test
// ./netns-tests` import both. DefaultOptions are the plugin and netconf the
// runner tests when the environment names none.
package podnetspecs

import "github.com/cnigate/cnigate/conformance"

// DefaultOptions are podnet (../bin/podnet, as `go test ./netns-tests` sees it from
// its package directory) with its IPv4 netconf template.
func DefaultOptions() (conformance.Options, error) {
	tmpl, err := conformance.Testdata.ReadFile("testdata/podnet.json.tmpl")
	return conformance.Options{Plugin: "../bin/podnet", NetConfName: "podnet.json.tmpl", NetConf: tmpl}, err
}
