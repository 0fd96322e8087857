package conformance

import "embed"

// Testdata holds the netconf templates, profiles and known-failure lists
// the suite ships with, so the cnigate binary needs no repository.
//
//go:embed testdata
var Testdata embed.FS
