// Package ipam is podnet's address store: one directory per network, one file
// per reserved IP (written whole, then linked into place, naming its container
// ID and interface), one pool per address family (an attachment gets one
// address of each), and one flock, waited for at most LockTimeout, held
// around every read-modify-write so that any number of concurrent plugin
// processes on a node hand out distinct addresses, round-robin per family.
// An index (att-<hash> per attachment, listing its addresses, written before
// and removed after the address files, and confirmed against them) makes
// Reserve and Release cost the same with 20,000 reservations as with none;
// the store is read whole only by GC and when the index is missing or in
// doubt. The store follows no symlink, reads at most MaxFileSize bytes of any
// file, treats what it cannot parse as corrupt rather than trusting it, and
// repairs its modes.
package ipam
