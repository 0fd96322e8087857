// Package bench measures CNI plugins the way a container runtime experiences
// them: whole plugin processes, started one per CNI command inside throwaway
// network namespaces, exactly like the conformance suite (it reuses
// cnitest for the namespaces, the configs and the exec).
// `cnigate bench` runs it; `make bench` runs cnigate bench with
// bench/contenders.json.
//
// What runs is a Table: any number of contenders (a plugin binary and its
// config template, or bench/floor, the process that only does the kernel work
// of one ADD or DEL) and one baseline the ratios are computed against. Each
// contender gets its own fresh host netns and data directory, with the same
// subnet (unless its entry names its own) and MTU. An entry may ask for more
// than IPv4 (Families: each pod must get one address per family) and for a
// store already holding reservations (Preload: written in podnet's documented
// on-disk format, then proven by podnet's own GC; see writePreload).
//
// Phases, each interleaving the contenders in the orders of a Williams
// design (williamsOrders: every position, and within a step every
// predecessor, equally often) so that drift of a shared, noisy machine and what one process
// leaves behind for the next hit all of them alike:
//
//  1. warm-up: one untimed ADD+DEL each (creates the bridge and the rules,
//     pulls the binaries into the page cache);
//  2. sequential: N ADDs (one per pod netns, all kept), then N DELs; the
//     latency of every process, p50/p90/p99 and every sample;
//  3. burst: Burst concurrent ADDs into the one subnet, then as many
//     concurrent DELs; the wall time of each, failures, and duplicate
//     addresses read back from the pods' interfaces; repeated BurstRounds
//     times, the median round is reported;
//  4. memory: a few ADDs and DELs started through bench/maxrss, which reports
//     the child's ru_maxrss (see its doc for why not directly); skipped,
//     saying so, without a launcher.
//
// Every pod netns is created before the timing starts. Everything (netns,
// temp dirs) is removed at the end, also after a failure or Ctrl-C.
//
// Run returns a results.Bench (bench.json; package results holds the type,
// package report renders it, WriteTable prints bench.txt): figures, ratios
// for every pair of contenders, and the targets of the table entries. Targets are reported,
// never asserted: timings on a shared machine are not test material; a run
// fails (Passed is false) only when a plugin failed commands, handed out a
// duplicate address, left a pod unconfigured or left interfaces behind.
//
// A run with GateOptions is a gate between two builds (make bench
// BASELINE=...): from the sequential phase's interleaved pairs it decides
// whether the candidate is slower than the baseline by more than a tolerance
// (median of the paired ratios, bootstrap confidence interval; see
// GateOptions), and results.Bench.Regressed says so.
package bench
