// Command bench measures podnet the way a container runtime experiences it:
// whole plugin processes, started one per CNI command inside throwaway network
// namespaces, exactly like the conformance suite (it reuses
// netns-tests/cnitest for the namespaces, the configs and the exec).
//
// Three contenders run in one invocation, each in its own fresh host netns
// with its own data directory, against the same bridge (cni0), subnet and MTU:
//
//   - podnet: bin/podnet with netns-tests/testdata/podnet.json.tmpl (no log file);
//   - bridge: upstream bridge + host-local (the versions pinned in go.mod)
//     with netns-tests/testdata/bridge-host-local.json.tmpl;
//   - floor:  bench/floor, a process that only does the kernel work of one
//     ADD or DEL (no IPAM, no iptables, no result), the lower bound.
//
// Both plugins get the same ipMasq setting (-ipmasq, default true).
//
// Phases, each interleaving the contenders (the order rotates every step) so
// that drift of a shared, noisy machine hits all of them alike:
//
//  1. warm-up: one untimed ADD+DEL each (creates the bridge and the rules,
//     pulls the binaries into the page cache);
//  2. sequential: N ADDs (one per pod netns, all kept), then N DELs; the
//     latency of every process, p50/p90/p99;
//  3. burst: -burst concurrent ADDs into the one /24, then as many concurrent
//     DELs; the wall time of each, failures, and duplicate addresses read
//     back from the pods' interfaces; repeated -burst-rounds times, the
//     median round is reported;
//  4. memory: a few ADDs and DELs started through bench/maxrss, which
//     reports the child's ru_maxrss (see its doc for why not directly).
//
// Every pod netns is created before the timing starts. Everything (netns,
// temp dirs) is removed at the end, also after a failure or Ctrl-C.
//
// The table goes to stdout, progress to stderr, and the figures, ratios and
// targets to -out (default _artifacts/bench.json). Targets are reported, never
// asserted: timings on a shared machine are not test material. Run it as root
// through `make bench` (ci/bench.sh builds everything it needs).
package bench
