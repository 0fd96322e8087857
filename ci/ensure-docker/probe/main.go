// Command probe does nothing and exits 0. ci/ensure-docker.sh puts it alone in
// a FROM-scratch image and runs it with --privileged to find out whether this
// Docker engine can start privileged containers (kind nodes) at all.
package main

func main() {}
