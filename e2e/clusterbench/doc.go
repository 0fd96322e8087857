// Package clusterbench measures pod start-up and tear-down through the CNI
// on a kind cluster (make cluster-bench, cnigate cluster-bench): a burst of
// pods per worker, timed from PodScheduled to PodReadyToStartContainers (the
// sandbox, and so the CNI ADD, is done; KEP-3085) and to Ready, then the time
// until every pod is gone and every worker's IPAM store is back to where it
// was. It runs podnet and the upstream reference conflist (bridge +
// host-local + portmap) on the same cluster, rounds interleaved, switching
// the nodes' conflist between them through the e2e harness.
package clusterbench
