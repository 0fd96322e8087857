// Package cni is the table of the CNIs the e2e can install on kind nodes
// (CNIs in cni.go: podnet from its image and manifest, the reference bridge
// as a conflist), the one list that validation, the matrix, the cluster
// bench, ci/e2e.sh, .ci/run and the GitHub matrix follow (`cnigate cnis`
// prints it), and the installing itself: the conflist a node gets (NodeNet),
// the plugins copied in through kind's node Command API (InstallCNI), and
// reading which network configuration a node's runtime uses.
package cni
