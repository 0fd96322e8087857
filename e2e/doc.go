// Package e2e is podnet's end-to-end suite, built on sigs.k8s.io/e2e-framework.
//
// TestMain (main_test.go) brings up a kind cluster from kind-config/ with the
// default CNI disabled (1 control-plane + -e2e.workers workers, the node image
// from ci/node-image.sh), checks every node is NotReady, installs podnet on
// every node the way the tutorial does by hand (binary, conf with the node's
// podCIDR, routes between the nodes' pod subnets entered with netlink in each
// node's network namespace), waits for every node Ready, and starts the test
// pods and an "external" host outside the cluster. The tests
// (connectivity_test.go, ipam_test.go) are the connectivity matrix: one
// feature per behaviour, one named subtest ("cell") per source, destination and
// protocol. The matrix is printed at the end and written to
// _artifacts/matrix.json; ci/e2e.sh turns go test's output into
// _artifacts/junit-e2e.xml.
//
// Gate mode: with --kubeconfig=<file> (make e2e KUBECONFIG=<file>) no cluster
// is created and nothing is installed; podnet must already run on the nodes and
// the test image must be on them (or -e2e.image names a pullable copy). The
// external host is still a docker container the suite creates, on the docker
// network -e2e.external-network; when docker or that network is missing, or the
// nodes are not on it (a remote cluster), the NAT cells are skipped with that
// reason.
//
// The package does nothing unless -e2e.run is given: `go test ./...` stays a
// unit-test run. Run it through ci/e2e.sh (make e2e, make cluster).
package e2e
