#!/usr/bin/env bash
# make bench: podnet vs upstream bridge + host-local vs the kernel floor, as whole plugin
# processes in throwaway network namespaces (bench/doc.go says what is measured and how).
# Builds what it needs, runs bench/ and leaves the table in _artifacts/bench.txt and the
# figures in _artifacts/bench.json. Root: it creates network namespaces.
# Env: BENCH_N (sequential ADDs/DELs, default 200), BENCH_BURST (concurrent ADDs/DELs, 200),
# BENCH_BURST_ROUNDS (3), ARTIFACTS (default _artifacts). Arguments go to the runner
# (ci/bench.sh -help lists its flags).
set -o errexit -o nounset -o pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=ci/lib.sh
source "$REPO_ROOT/ci/lib.sh"
ARTIFACTS=${ARTIFACTS:-$REPO_ROOT/_artifacts}
BENCH_DIR=$OUTPUT_DIR/bench
UPSTREAM_DIR=$OUTPUT_DIR/upstream-cni
cd "$REPO_ROOT"

[[ $(id -u) -eq 0 ]] || die "the benchmark creates network namespaces and must run as root: sudo make bench"
[[ -x bin/podnet ]] || die "bin/podnet is missing: run make build (make bench does)"

phase "build upstream bridge + host-local (pinned in go.mod), floor, maxrss, runner"
mkdir -p "$UPSTREAM_DIR" "$BENCH_DIR" "$ARTIFACTS"
# The same build as ci/conformance.sh upstream.
CGO_ENABLED=0 go build -o "$UPSTREAM_DIR/" \
  github.com/containernetworking/plugins/plugins/main/bridge \
  github.com/containernetworking/plugins/plugins/ipam/host-local
# The floor is built like bin/podnet (see the Makefile), so start-up costs compare.
CGO_ENABLED=0 go build -trimpath -o "$BENCH_DIR/" ./bench/floor ./bench/maxrss
go build -o "$BENCH_DIR/bench" ./bench

phase "bench (load: $(cut -d' ' -f1-3 /proc/loadavg))"
"$BENCH_DIR/bench" \
  -podnet bin/podnet -bridge "$UPSTREAM_DIR/bridge" -cni-path "$UPSTREAM_DIR" \
  -floor "$BENCH_DIR/floor" -maxrss "$BENCH_DIR/maxrss" \
  -n "${BENCH_N:-200}" -burst "${BENCH_BURST:-200}" -burst-rounds "${BENCH_BURST_ROUNDS:-3}" \
  -out "$ARTIFACTS/bench.json" "$@" | tee "$ARTIFACTS/bench.txt"
phase_summary
log "table: $ARTIFACTS/bench.txt, figures: $ARTIFACTS/bench.json"
