// Package deploy renders the manifest that deploys podnet on a cluster: the
// podnet-agent DaemonSet (it installs podnet on every node, writes the node's
// conflist from spec.podCIDRs and owns the routes and rules; see
// docs/agent.md), its ServiceAccount and RBAC, and the ConfigMap of
// cluster-wide settings. The manifest has one source, podnet.yaml.tmpl; the
// image reference and every setting are set in one place, Options, and
// rendered by `cnigate manifest` and `make manifest`.
//
// Deploy is what users apply: it imports nothing of the agent (the e2e
// suite, which installs podnet the way users do, imports this package and
// must stay black-box); the agent owns the schema of config.json, and this
// package's tests check that what it renders is what the agent accepts.
package deploy
