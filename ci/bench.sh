#!/usr/bin/env bash
# make bench: the contenders of bench/contenders.json (podnet, upstream bridge + host-local, the
# kernel floor, podnet dual-stack and its floor, podnet with an empty /16 store and with 20,000
# reservations preloaded, podnet with its store on this machine's disk) as whole plugin
# processes in throwaway network namespaces, through `bin/cnigate bench` (bench/README.md says
# what is measured and how). Builds what the table needs, then leaves in _artifacts/:
# bench.json (figures), bench.txt (table), and the reports bench.junit.xml, bench.report.json,
# bench.md, bench.html. Root: it creates network namespaces.
# Env: BENCH_N (sequential ADDs/DELs, default 200), BENCH_BURST (concurrent ADDs/DELs, 200),
# BENCH_BURST_ROUNDS (5), ARTIFACTS (default _artifacts). Arguments go to `cnigate bench`
# (bin/cnigate bench -h lists its flags).
# Gate mode, BASELINE=<podnet binary now deployed> [CANDIDATE=<path>, default bin/podnet]
# [TOLERANCE=0.10]: only the two, sequential ADDs/DELs interleaved, no burst (BENCH_BURST_ROUNDS
# to add it), no memory phase; exits 1 when the candidate is slower by more than TOLERANCE.
set -o errexit -o nounset -o pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=ci/lib.sh
source "$REPO_ROOT/ci/lib.sh"
ARTIFACTS=${ARTIFACTS:-$REPO_ROOT/_artifacts}
BENCH_DIR=$OUTPUT_DIR/bench
UPSTREAM_DIR=$OUTPUT_DIR/upstream-cni
cd "$REPO_ROOT" # the table's paths are relative to the repository

[[ $(id -u) -eq 0 ]] || die "the benchmark creates network namespaces and must run as root: sudo make bench"
[[ -x bin/podnet && -x bin/cnigate ]] || die "bin/podnet or bin/cnigate is missing: run make build cnigate (make bench does)"

mkdir -p "$UPSTREAM_DIR" "$BENCH_DIR" "$ARTIFACTS"

if [[ -n ${BASELINE:-} ]]; then
  CANDIDATE=${CANDIDATE:-bin/podnet}
  [[ -x $BASELINE && -x $CANDIDATE ]] || die "BASELINE=$BASELINE and CANDIDATE=$CANDIDATE must be executable plugin binaries"
  phase "gate: is $CANDIDATE slower than $BASELINE by more than ${TOLERANCE:-0.10}? (load: $(cut -d' ' -f1-3 /proc/loadavg))"
  podnet=(--netconf conformance/testdata/podnet.json.tmpl --field logFile=null) # as bench/contenders.json runs podnet
  status=0
  bin/cnigate bench --baseline-plugin "$BASELINE" "${podnet[@]}" --candidate "$CANDIDATE" "${podnet[@]}" \
    --tolerance "${TOLERANCE:-0.10}" -n "${BENCH_N:-200}" --burst "${BENCH_BURST:-200}" \
    --burst-rounds "${BENCH_BURST_ROUNDS:-0}" --state host --settle 0 --report-dir "$ARTIFACTS" "$@" || status=$? # as ci/bench-gate.sh
  phase_summary
  log "verdict: $ARTIFACTS/bench.txt, figures: $ARTIFACTS/bench.json, reports: $ARTIFACTS/bench.{junit.xml,report.json,md,html}"
  exit "$status"
fi

phase "build upstream bridge + host-local (pinned in go.mod), floor, maxrss, slowdown"
# The same build as ci/conformance.sh upstream.
CGO_ENABLED=0 go build -o "$UPSTREAM_DIR/" \
  github.com/containernetworking/plugins/plugins/main/bridge \
  github.com/containernetworking/plugins/plugins/ipam/host-local
# The floor is built like bin/podnet (see the Makefile), so start-up costs compare.
CGO_ENABLED=0 go build -trimpath -o "$BENCH_DIR/" ./bench/floor ./bench/maxrss ./bench/slowdown

phase "bench (load: $(cut -d' ' -f1-3 /proc/loadavg))"
bin/cnigate bench --contenders bench/contenders.json --maxrss "$BENCH_DIR/maxrss" \
  -n "${BENCH_N:-200}" --burst "${BENCH_BURST:-200}" --burst-rounds "${BENCH_BURST_ROUNDS:-5}" \
  --report-dir "$ARTIFACTS" "$@"
phase_summary
log "table: $ARTIFACTS/bench.txt, figures: $ARTIFACTS/bench.json, reports: $ARTIFACTS/bench.{junit.xml,report.json,md,html}"
