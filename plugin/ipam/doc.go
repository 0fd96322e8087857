// Package ipam is podnet's address store: one directory per network, one file
// per reserved IP (created with O_EXCL, naming its container ID and interface),
// and one flock held around every read-modify-write so that any number of
// concurrent plugin processes on a node hand out distinct addresses.
package ipam
