// Package cluster creates, loads, exports the logs of and deletes kind
// clusters through kind's Go library (sigs.k8s.io/kind/pkg/cluster, the
// version go.mod pins), so neither the e2e suite nor `cnigate e2e` needs a
// kind binary. The node containers run on Docker.
package cluster
