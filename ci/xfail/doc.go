// Command xfail decides a conformance run against a plugin that is known to
// fail some specs (upstream bridge + host-local): it reads the Ginkgo JSON
// report and a committed list of known failures, prints the known failures
// as a finding, and fails when the failures are not exactly that list (a new
// failure, a known failure that now passes, or one that no longer ran).
//
//	go run ./ci/xfail -report _artifacts/netns-upstream.json -known netns-tests/testdata/upstream-bridge.known-failures
//
// The list has one line per spec: its full Ginkgo text, " | ", and why it
// fails. Blank lines and lines starting with # are comments.
package main
