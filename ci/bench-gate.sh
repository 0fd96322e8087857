#!/usr/bin/env bash
# make bench-gate: is this tree's podnet slower than the podnet of its baseline commit? CI's
# regression gate (docs/bench.md#the-ci-regression-gate-make-bench-gate). Root: the bench
# creates network namespaces.
#
# The baseline commit: BENCH_BASE (any git ref) if set; else the merge base of HEAD with
# origin/main when that ref exists and differs from HEAD (a branch or pull request: what it would
# change); else HEAD~1 (a push to main: what the last commit changed). Its podnet is built in a
# temporary git worktree (removed afterwards) exactly as `make build` builds bin/podnet; the
# candidate is CANDIDATE (default bin/podnet, which `make bench-gate` builds from the tree).
# Then `cnigate bench` runs the two interleaved (sequential ADDs and DELs paired round by round,
# bursts paired round by round) and gates ADD p50, DEL p50 and the ADD and DEL burst walls.
#
# Env: BENCH_BASE (above), CANDIDATE, BENCH_GATE_N (sequential pairs, 200), BENCH_GATE_BURST
# (concurrent ADDs/DELs per burst, 50; the pods share the node subnet 10.99.0.0/21: room for 2,000), BENCH_GATE_BURST_ROUNDS (paired bursts, 8),
# BENCH_GATE_TOLERANCE (0.03: a latency or burst metric fails when the 95% interval of its ratio
# lies wholly above 1.03), BENCH_GATE_CPU_TOLERANCE (0: a CPU metric fails when its interval lies
# wholly above 1, i.e. the candidate costs significantly more CPU),
# BENCH_GATE_SLOWDOWN (+DURATION or %DURATION, a Go duration: gate a copy of the candidate
# behind bench/slowdown, which per ADD sleeps (+) or burns that much CPU time (%), to prove the
# gate catches it; the baseline then runs behind the same wrapper with +0s, so only the sleep or
# the burn differs), ARTIFACTS (default _artifacts/bench-gate).
# Arguments go to `cnigate bench`. Exit 1 on a regression or a failed contender.
set -o errexit -o nounset -o pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=ci/lib.sh
source "$REPO_ROOT/ci/lib.sh"
cd "$REPO_ROOT"
ARTIFACTS=${ARTIFACTS:-$REPO_ROOT/_artifacts/bench-gate}
GATE_DIR=$OUTPUT_DIR/bench-gate

[[ $(id -u) -eq 0 ]] || die "the bench gate creates network namespaces and must run as root: sudo make bench-gate"
CANDIDATE=${CANDIDATE:-bin/podnet}
[[ -x $CANDIDATE && -x bin/cnigate ]] || die "$CANDIDATE or bin/cnigate is missing: run make build cnigate (make bench-gate does)"

# base_ref prints the baseline's ref by the rule above.
base_ref() {
  if [[ -n ${BENCH_BASE:-} ]]; then
    echo "$BENCH_BASE"
    return
  fi
  local mb
  if git rev-parse --verify --quiet origin/main >/dev/null &&
    mb=$(git merge-base HEAD origin/main) && [[ $mb != "$(git rev-parse HEAD)" ]]; then
    echo "$mb"
    return
  fi
  echo HEAD~1
}
ref=$(base_ref)
base=$(git rev-parse --verify --quiet "$ref^{commit}") || die "baseline ref $ref is not a commit (set BENCH_BASE to one)"

rm -rf "$GATE_DIR"
mkdir -p "$GATE_DIR" "$ARTIFACTS"
phase "build the baseline podnet of $ref ($(git log -1 --format='%h %s' "$base")) in a temporary worktree"
src=$(mktemp -d)
cleanup() { git worktree remove --force "$src/tree" 2>/dev/null || true; rm -rf "$src"; }
trap cleanup EXIT
git worktree add --quiet --detach "$src/tree" "$base"
# As the Makefile builds bin/podnet.
(cd "$src/tree" && CGO_ENABLED=0 go build -trimpath -o "$src/podnet" ./plugin)
# Both binaries are put in place the same way, by cp: a file the linker wrote and a copy of it
# can sit differently in the page cache (folio sizes), and exec'ing the one took 10% more CPU
# time than the other in a same-binary run (docs/measurements/2026-12-06-bench-gate.md).
mkdir -p "$GATE_DIR/baseline" "$GATE_DIR/candidate"
cp "$src/podnet" "$GATE_DIR/baseline/podnet"
cleanup
trap - EXIT
cp "$CANDIDATE" "$GATE_DIR/candidate/podnet"
baseline=$GATE_DIR/baseline/podnet candidate=$GATE_DIR/candidate/podnet

if [[ -n ${BENCH_GATE_SLOWDOWN:-} ]]; then
  [[ $BENCH_GATE_SLOWDOWN == [+%]* ]] || die "BENCH_GATE_SLOWDOWN=$BENCH_GATE_SLOWDOWN: want +DURATION (sleep) or %DURATION (CPU)"
  phase "wrap both in bench/slowdown: candidate $BENCH_GATE_SLOWDOWN per ADD, baseline +0s"
  CGO_ENABLED=0 go build -trimpath -o "$GATE_DIR/slowdown" ./bench/slowdown
  ln -sf ../slowdown "$GATE_DIR/baseline/podnet+0s@ADD"
  ln -sf ../slowdown "$GATE_DIR/candidate/podnet${BENCH_GATE_SLOWDOWN}@ADD"
  baseline=$GATE_DIR/baseline/podnet+0s@ADD candidate=$GATE_DIR/candidate/podnet${BENCH_GATE_SLOWDOWN}@ADD
fi

tolerance=${BENCH_GATE_TOLERANCE:-0.03} cpu_tolerance=${BENCH_GATE_CPU_TOLERANCE:-0}
phase "gate: candidate $CANDIDATE vs baseline $ref, tolerance $tolerance, CPU $cpu_tolerance (load: $(cut -d' ' -f1-3 /proc/loadavg))"
podnet=(--netconf conformance/testdata/podnet.json.tmpl --field logFile=null) # as bench/contenders.json runs podnet
status=0
# The data dirs on the host's filesystem (--state host), not the bench's tmpfs: a store change
# that waits for the disk must show. No settle wait: each round's two processes run back to
# back, so what the filesystem's state costs hits both alike.
# The baseline is the first contender: in same-binary runs the first one's processes took 1 to 4%
# more CPU time than the second's (cause not found; docs/measurements/2026-12-06-bench-gate.md).
# With the candidate first, that bias alone reached the CPU limit (interval [1.000, 1.048]); this
# order keeps the same binary passing and costs the CPU metrics that much sensitivity.
bin/cnigate bench --baseline-plugin "baseline=$baseline" "${podnet[@]}" --candidate "candidate=$candidate" "${podnet[@]}" \
  --tolerance "$tolerance" --cpu-tolerance "$cpu_tolerance" -n "${BENCH_GATE_N:-200}" --burst "${BENCH_GATE_BURST:-50}" \
  --burst-rounds "${BENCH_GATE_BURST_ROUNDS:-8}" --subnet 10.99.0.0/21 --state host --settle 0 --report-dir "$ARTIFACTS" "$@" || status=$?
phase_summary
log "baseline $ref = $(git rev-parse --short "$base"); verdict: $ARTIFACTS/bench.txt, figures: $ARTIFACTS/bench.json"
exit "$status"
