// Package harness is the e2e's toolbox: the pieces of the matrix (e2e/matrix),
// the cluster bench and the rollout that are not Kubernetes assertions
// themselves, so they can be unit-tested without a cluster. They live in
// subpackages named by what they hold:
//
//   - cni: the table of the CNIs the e2e can install (CNIs, in
//     e2e/harness/cni/cni.go) and their install on kind nodes;
//   - nodenet: the kind node and external-host containers and their networks
//     (NodeInfo, docker, routes between pod subnets, masquerade, hairpin, the
//     rules and routes the healing cells break, the external host);
//   - host: the machine the harness runs on (the hermetic DOCKER-USER rule,
//     host memory, inotify limits);
//   - probe: the commands the checks run in pods and the parsers of what they
//     print (ping, HTTP, the Go probe, podnet's reservations through
//     plugin/ipam/format);
//   - tally: the running record of a matrix run (cells, the human table,
//     phase timings).
//
// This package itself holds no code.
package harness
