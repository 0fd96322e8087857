// Package harness holds the pieces of the e2e suite (package e2e) that are
// not Kubernetes assertions themselves, so they can be unit-tested without a
// cluster:
//
//   - the CNIs the harness installs on kind nodes (podnet or the reference
//     bridge, then portmap, as a conflist), written through kind's node Command
//     API; routes between the nodes' pod subnets, the bridge CNI's masquerade
//     rule and the hairpin break, done with netlink and go-iptables from inside
//     each node's network namespace (no ip or iptables command line of our own);
//   - the host's hermetic rule (DOCKER-USER) while a harness cluster exists;
//   - the "external" host: a container on the kind docker network that is not a
//     node and has no route to the pod network, answering HTTP with the source
//     address it sees;
//   - parsing what the probes print (ping, the image's http probe, the Go
//     probe, the podnet reservation store, a node's CNI configuration);
//   - recording the matrix: cells (results.Cell) collected from concurrent
//     checks, the human table; phase timings. matrix.json is a
//     results.Matrix, written by e2e/matrix.
package harness
