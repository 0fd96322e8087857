#!/usr/bin/env bash
# Where podnet's time goes, per phase (docs/measurements/2026-12-06-podnet-phases.md): builds
# podnet with -tags podnet_trace (bin/podnet-trace; a release build has none of it), runs it
# through `cnigate bench` next to the kernel floor (BENCH_N sequential ADDs/DELs, default 200,
# and BENCH_BURST_ROUNDS bursts of BENCH_BURST, default 0 of 200: the wall medians are then those of
# sequential commands; a burst run shows the lock waits), then prints per command and
# phase the median wall and CPU time (the process's CPU, all threads: it does not grow when
# other work takes the cores, wall time does). The trace lines stay in $ARTIFACTS/podnet-trace.log
# ("<COMMAND> <pid> <phase> <wall µs> <cpu µs>"). Root: the bench creates network namespaces.
set -o errexit -o nounset -o pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=ci/lib.sh
source "$REPO_ROOT/ci/lib.sh"
cd "$REPO_ROOT"
ARTIFACTS=${ARTIFACTS:-$REPO_ROOT/_artifacts/podnet-phases}
[[ $(id -u) -eq 0 ]] || die "the bench creates network namespaces and must run as root"
[[ -x bin/cnigate ]] || die "bin/cnigate is missing: run make cnigate"
mkdir -p "$ARTIFACTS" "$OUTPUT_DIR/bench"
trace=$ARTIFACTS/podnet-trace.log
rm -f "$trace"

phase "build bin/podnet-trace (-tags podnet_trace) and the floor"
CGO_ENABLED=0 go build -trimpath -tags podnet_trace -ldflags "-X main.traceFile=$trace" -o bin/podnet-trace ./plugin
CGO_ENABLED=0 go build -trimpath -o "$OUTPUT_DIR/bench/" ./bench/floor

phase "bench podnet-trace vs floor (load: $(cut -d' ' -f1-3 /proc/loadavg))"
bin/cnigate bench --plugin podnet=bin/podnet-trace --netconf conformance/testdata/podnet.json.tmpl --field logFile=null \
  --floor "$OUTPUT_DIR/bench/floor" -n "${BENCH_N:-200}" --burst "${BENCH_BURST:-200}" \
  --burst-rounds "${BENCH_BURST_ROUNDS:-0}" --report-dir "$ARTIFACTS" "$@"
log "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"

# Per invocation, the phases of one name are summed (the store lock is taken more than once);
# then per command and phase the median over the invocations that had it.
awk '{ key = $1 SUBSEP $2 SUBSEP $3
       if (!(key in wall)) { order[$1] = order[$1] (order[$1] == "" ? "" : " ") $3; seen[$1, $3] }
       wall[key] += $4; cpu[key] += $5; inv[$1, $2] }
     END { for (k in wall) { split(k, p, SUBSEP); print p[1], p[3], wall[k], cpu[k] }
           for (c in order) print "#order", c, order[c] }' "$trace" >"$ARTIFACTS/phases.tsv"
median() { sort -n | awk '{a[NR] = $1} END {if (NR) print a[int((NR + 1) / 2)]; else print "-"}'; }
for cmd in ADD DEL; do
  order=$(awk -v c="$cmd" '$1 == "#order" && $2 == c { $1 = $2 = ""; print }' "$ARTIFACTS/phases.tsv" | tr ' ' '\n' |
    awk 'NF && !seen[$0]++')
  [[ -n $order ]] || continue
  n=$(awk -v c="$cmd" '$1 == c { print $2 }' "$trace" | sort -u | wc -l)
  printf '\n%s (%d invocations): median per phase\n%-18s %12s %12s\n' "$cmd" "$n" phase "wall (µs)" "CPU (µs)"
  for ph in $order; do
    w=$(awk -v c="$cmd" -v p="$ph" '$1 == c && $2 == p { print $3 }' "$ARTIFACTS/phases.tsv" | median)
    u=$(awk -v c="$cmd" -v p="$ph" '$1 == c && $2 == p { print $4 }' "$ARTIFACTS/phases.tsv" | median)
    printf '%-18s %12s %12s\n' "$ph" "$w" "$u"
  done
done | tee "$ARTIFACTS/phases.txt"
