// Package conformance is a CNI conformance suite: Ginkgo specs that run a
// plugin binary as root in throwaway network namespaces and check what the
// CNI spec demands (specs labelled "generic", each with the "spec:<clause>"
// label of the SPEC rule it rests on, or "convention" where the SPEC is
// silent). Importing it registers the specs; Run runs them against a plugin
// described by Options and a Profile. `cnigate conformance` and `go test
// ./netns-tests` both call Run, and both import conformance/podnetspecs too:
// what podnet promises on top (labelled "podnet"), on the testbed kit this
// package exports (Testbed, Attachment, BadCall and their helpers).
package conformance
