// Package e2e is cnigate's end-to-end suite, built on sigs.k8s.io/e2e-framework:
// the Kubernetes networking contract, checked cell by cell on a cluster, for
// any CNI.
//
// TestMain (main_test.go) brings up a kind cluster from kind-config/ with the
// default CNI disabled (1 control-plane + -e2e.workers workers, the node image
// from ci/node-image.sh), with the host's hermetic rule in place
// (harness/hermetic.go), checks every node is NotReady and runs the kubelet
// version its image declares (/kind/version), installs the CNI (-e2e.cni:
// podnet or the reference bridge, each followed by portmap in a conflist) with
// the node's podCIDR, wires the nodes' pod subnets with routes entered with
// netlink in each node's network namespace, waits for every node Ready, and
// starts the test pods, one NodePort Service per web pod and an "external"
// host outside the cluster. The tests are the matrix: the tutorial's
// connectivity (connectivity_test.go), the contract (contract_test.go:
// Services, hairpin, NodePort, DNS, API server, hostPort, UDP, MTU) and
// podnet's IPAM (ipam_test.go), one feature per behaviour, one named subtest
// ("cell") per source, destination and protocol. The matrix is printed at the
// end and written to matrix.json; ci/e2e.sh turns go test's output into JUnit.
// -e2e.break breaks one thing on purpose, to show which cells catch it.
//
// Gate mode: with --kubeconfig=<file> (make e2e KUBECONFIG=<file>) no cluster
// is created, nothing is installed and the host is never touched; the CNI is
// whatever the nodes run (read from their /etc/cni/net.d), podnet-only cells
// skip unless it is podnet, cells needing a node podCIDR skip on nodes without
// one, and the test image must be on the nodes or pullable (-e2e.image). The
// external host is still a docker container the suite creates, on the docker
// network -e2e.external-network; when docker or that network is missing, or
// the nodes are not on it (a remote cluster), its cells are skipped with that
// reason.
//
// The package does nothing unless -e2e.run is given: `go test ./...` stays a
// unit-test run. Run it through ci/e2e.sh (make e2e, make cluster).
package e2e
