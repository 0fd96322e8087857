// Package ipam is podnet's address store: one directory per network, one file
// per reserved IP (written whole, then linked into place, naming its container
// ID and interface), and one flock, waited for at most LockTimeout, held
// around every read-modify-write so that any number of concurrent plugin
// processes on a node hand out distinct addresses, round-robin. The store
// follows no symlink, reads at most MaxFileSize bytes of any file, treats what
// it cannot parse as corrupt rather than trusting it, and repairs its modes.
package ipam
