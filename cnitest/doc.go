// Package cnitest runs CNI plugin binaries the way a container runtime does:
// as separate processes, with the CNI environment and a network config on
// stdin, inside a throwaway "host" network namespace so that the real host's
// links, routes and iptables are never touched. The conformance suite and the
// benchmarks share it.
package cnitest
