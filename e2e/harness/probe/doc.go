// Package probe holds what the e2e checks run inside pods and how they read
// the answers, without a cluster so it can be unit-tested: the commands (ping,
// the image's HTTP client, the Go probe of e2e/probe, the listing of an IPAM
// store's reservations, the mount table that names a pod's sandbox) and the
// parsers of what they print, and a pod's status conditions. podnet's
// reservations are read through plugin/ipam/format, the published store
// format, never a copy of it.
package probe
