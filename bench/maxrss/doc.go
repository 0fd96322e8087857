// Command maxrss runs one program and reports the peak resident set size of
// that program's process, for the benchmark's memory figure.
//
// Why a separate process: Go starts children with vfork (CLONE_VM), and on
// exec Linux seeds the child's ru_maxrss with the high-water RSS of the memory
// it ran on until then, which for a vfork child is the parent's. So the
// Maxrss of a child of the benchmark (tens of MiB) says how big the benchmark
// is, not the plugin. maxrss is a small fresh process, so what it passes on is
// its own RSS (about 2 MiB, below any Go plugin), and it reports the child's
// ru_maxrss, which also covers the child's own waited-for children (bridge's
// host-local).
//
// Usage: MAXRSS_EXEC=/path/to/plugin maxrss. The program gets maxrss's
// environment without MAXRSS_EXEC, and its stdin, stdout and stderr; maxrss
// then appends the line "maxrss-kib=N" to stderr and exits with the program's
// exit code.
package main
