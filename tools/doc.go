// Package tools pins the linters `make lint` runs (as `go tool` directives in
// this module's go.mod), apart from the main module so their dependencies do
// not mix with the plugin's.
package tools
