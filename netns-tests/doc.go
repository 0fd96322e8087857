// Package netnstests runs the conformance suite (package conformance) under
// `go test`, configured from the environment: PLUGIN, NETCONF, CNI_PATH,
// CHAIN_CNI_PATH, PROFILE. `cnigate conformance` runs the same specs.
package netnstests
