// Package e2e runs cnigate's end-to-end suite under `go test` (make e2e):
// TestE2E calls matrix.Suite, the same entry point `cnigate e2e` runs
// inside the binary. The suite itself is in e2e/matrix (the matrix table,
// setup and teardown), the kind cluster handling in e2e/cluster, the
// helpers in e2e/harness and the in-pod probe in e2e/probe.
//
// The package does nothing unless -e2e.run is given: `go test ./...` stays a
// unit-test run. Run it through ci/e2e.sh (make e2e, make cluster); the
// suite's options are flags prefixed "e2e." (matrix.Options.Register).
package e2e
