// Package matrix is cnigate's end-to-end suite, built on
// sigs.k8s.io/e2e-framework: the Kubernetes networking contract, checked
// cell by cell on a cluster, for any CNI. It is a library so that `go test
// ./e2e/` (make e2e) and `cnigate e2e` run the same code: Suite returns the
// whole run as one test function.
//
// The matrix is one table (table.go, rows): each row is a behaviour (its
// name in the report), its group (Connectivity, Contract, IPAM: a subtest
// of TestE2E), the endpoints and protocols of its cells (helpers pairs,
// perWorker), their check, and what it needs (the external host, podnet);
// a row whose need is missing lists its cells as skipped with the reason.
// Adding a matrix behaviour is adding a row. The groups run once per
// address family of the cluster, one pass after another; a pass hands its
// family (ipFamily) to each row's cell builder, which hands it to the
// checks (family.go).
//
// Setup (suite.go, setup.go), in kind mode: a kind cluster from
// kind-config/ through kind's Go library (e2e/cluster) with the default CNI
// disabled and the host's hermetic rule in place (harness/host); every
// node NotReady and running the kubelet version its image declares
// (/kind/version); the test image loaded; the CNI (podnet or the reference
// bridge, each followed by portmap in a conflist) installed with the node's
// podCIDR; the pod subnets routed (netlink in each node's netns); every node
// Ready; then the test pods, one NodePort Service per web pod and an
// "external" host outside the cluster. The break option breaks one thing on
// purpose, to show which cells catch it. Finish: matrix.json (and, with a
// report name, the four report formats), the kind logs on failure, teardown
// (the cluster is deleted, also after a failed setup or Ctrl-C).
//
// Gate mode (a kubeconfig): no cluster is created, nothing is installed and
// the host is never touched; the CNI is whatever the nodes run (read from
// their /etc/cni/net.d), podnet-only rows skip unless it is podnet, cells
// needing a node podCIDR skip on nodes without one, and the test image must
// be on the nodes or pullable. The external host is still a docker
// container the suite creates on the external network; when docker or that
// network is missing, or the nodes are not on it, its cells are skipped with
// that reason.
package matrix
