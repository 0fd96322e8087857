// Package host is what the harness does to and reads of the machine it runs
// on while a kind cluster it made exists (the nodes are containers here):
// the hermetic rule in Docker's DOCKER-USER chain that keeps the cluster's
// docker network from reaching the host's other interfaces, the host's memory
// sampled for the report, and the inotify limits kind's nodes need raised.
package host
