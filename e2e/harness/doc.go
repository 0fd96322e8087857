// Package harness holds the pieces of the podnet e2e suite (package e2e) that
// are not Kubernetes assertions themselves, so they can be unit-tested without a
// cluster:
//
//   - installing podnet on kind nodes: files written through kind's node
//     Command API, routes between the nodes' pod subnets added with netlink from
//     inside each node's network namespace (no ip/iptables is ever executed);
//   - the "external" host: a container on the kind docker network that is not a
//     node and has no route to the pod network, answering HTTP with the source
//     address it sees;
//   - parsing what the probes print (ping, the image's http probe, the podnet
//     reservation store);
//   - the connectivity matrix: cells, table, matrix.json; phase timings.
package harness
