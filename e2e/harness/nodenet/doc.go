// Package nodenet is the harness's side of the containers on the kind docker
// network, kind's nodes and the "external" host, and of their networks:
//
//   - NodeInfo: what the suite knows of a node (addresses, pod subnets, zone);
//   - Docker: the docker CLI (the one thing kind's Go library does not do), a
//     container's PID and network namespace;
//   - inside a node's network namespace, with netlink and go-iptables (no ip or
//     iptables command line of our own): the routes between the nodes' pod
//     subnets, the bridge CNI's masquerade rule, the hairpin break, the routes
//     and rules the healing cells remove, read back and restore, the lossy-node
//     break;
//   - the external host: a container on the kind network that is not a node and
//     has no route to the pod network, answering HTTP with the source address
//     it sees.
package nodenet
