#!/usr/bin/env bash
# Per-ADD counts of podnet against the kernel floor that a loaded machine does not move
# (docs/measurements/2026-12-07-podnet-cuts.md): wall and CPU times stretch with other work on
# the cores, these counts do not. Each plugin (podnet: PODNET, default bin/podnet; the floor:
# FLOOR, default _output/bench/floor; COUNT_EXTRA="name=path ...": more podnet binaries, e.g.
# a baseline) gets a throwaway host netns and the bench's IPv4 config (DUAL=1: dual-stack, and
# the floor with an IPv6 address too), two warm-up ADDs (bridge, rules, stamps), then ADDs of
# fresh pod netns, the plugins taking turns ADD by ADD, under one tool each:
#   cachegrind COUNT_N ADDs (default 5) under valgrind --tool=cachegrind: user-space
#              instructions (the Go runtime's scheduling makes them vary by a few percent)
#   strace     COUNT_N ADDs under strace -f -c: system calls
#   netlink    COUNT_N ADDs under strace -f -T -yy: netlink requests (sendto/sendmsg on netlink
#              sockets), files made (openat with O_CREAT or O_TMPFILE), renames and links, fsyncs
#   perf       COUNT_PERF_N ADDs (default 20) under perf stat: CPU time (task-clock; moves with
#              the machine's load, unlike the rest), page faults
# (COUNT_TOOLS chooses, default all four), then DELs of every pod. Prints the median per ADD
# of each figure; COUNT_KEEP=1 keeps every tool's output in $ARTIFACTS/podnet-counts. Root.
set -o errexit -o nounset -o pipefail
shopt -s nullglob

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=ci/lib.sh
source "$REPO_ROOT/ci/lib.sh"
cd "$REPO_ROOT"
[[ $(id -u) -eq 0 ]] || die "the counts create network namespaces and must run as root"
for tool in valgrind strace perf; do
  command -v "$tool" >/dev/null || die "$tool is needed (apt-get install valgrind strace linux-perf)"
done
N=${COUNT_N:-5}
PODNET=${PODNET:-bin/podnet}
FLOOR=${FLOOR:-$OUTPUT_DIR/bench/floor}
WORK=$(mktemp -d /tmp/podnet-counts.XXXXXX)
[[ -x $PODNET ]] || die "$PODNET is missing: run make build"
if [[ ! -x $FLOOR ]]; then
  mkdir -p "$(dirname "$FLOOR")"
  CGO_ENABLED=0 go build -trimpath -o "$FLOOR" ./bench/floor
fi

netnses=()
cleanup() {
  local ns
  for ns in "${netnses[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

conf() { # the bench's podnet config (conformance/testdata/podnet.json.tmpl, no logFile)
  local dual=""
  [[ -n ${DUAL:-} ]] && dual=',"network6":"fd00:10:99::/48","subnet6":"fd00:10:99:1::/64"'
  printf '{"cniVersion":"1.1.0","name":"cnt","type":"podnet","network":"10.99.0.0/16","subnet":"10.99.1.0/24","bridge":"cni0","mtu":1500,"ipMasq":true,"dataDir":"%s"%s}' "$1" "$dual"
}

traced=sendto,getdents64,mkdirat,sendmsg,fsync,fdatasync,openat,renameat,renameat2,linkat,unlinkat,flock,write,pwrite64,ftruncate,fchmod,newfstatat,fstat,read,close

# run NAME PATH KIND TOOL I: one command (ADD or DEL per $CMD) of pod I under TOOL.
run() {
  local name=$1 path=$2 kind=$3 tool=$4 i=$5 host=pc-$1 pod=pc-$1-$5
  local -a env=(CNI_COMMAND="$CMD" CNI_CONTAINERID="ctr$i" CNI_NETNS="/run/netns/$pod" CNI_IFNAME=eth0 CNI_PATH=/nonexistent
    PATH=/usr/sbin:/usr/bin:/sbin:/bin)
  if [[ $kind == floor ]]; then
    env+=(FLOOR_ADDRESS="10.99.1.$((i + 2))/24" FLOOR_GATEWAY=10.99.1.1 FLOOR_BRIDGE=cni0 FLOOR_MTU=1500)
    [[ -n ${DUAL:-} ]] && env+=(FLOOR_ADDRESS6="fd00:10:99:1::$((i + 2))/64" FLOOR_GATEWAY6=fd00:10:99:1::1)
  fi
  local -a pre=()
  case $tool in
    cachegrind) pre=(valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file="$WORK/$name.$CMD.$i.cg" -q) ;;
    strace) pre=(strace -f -c -o "$WORK/$name.$CMD.$i.sc") ;;
    perf) pre=(perf stat -e task-clock -e page-faults -o "$WORK/$name.$CMD.$i.pf") ;;
    ktrace) pre=(perf trace -s -o "$WORK/$name.$CMD.$i.kt") ;;
    netlink) pre=(strace -f -T -yy -e "trace=$traced" -o "$WORK/$name.$CMD.$i.nl") ;;
  esac
  conf "$WORK/data-$name" | ip netns exec "$host" env -i "${env[@]}" GODEBUG=asyncpreemptoff=1 "${pre[@]}" "$path" >"$WORK/out" 2>&1 ||
    { cat "$WORK/out" >&2; die "$name $CMD $i failed"; }
}

median() { sort -n | awk '{a[NR] = $1} END {if (NR) print a[int((NR + 1) / 2)]; else print "-"}'; }

plugins=("podnet=$PODNET=podnet" "floor=$FLOOR=floor")
for extra in ${COUNT_EXTRA:-}; do plugins+=("$extra=podnet"); done
P=${COUNT_PERF_N:-20}
read -r -a tools <<<"${COUNT_TOOLS:-cachegrind strace netlink perf}"
log "load: $(cut -d' ' -f1-3 /proc/loadavg); $N ADDs per plugin and tool ($P under perf stat)${DUAL:+, dual-stack}"
printf '%-10s %12s %9s %8s %6s %8s %7s %8s %7s\n' plugin instructions syscalls netlink opens renames fsyncs "CPU ms" faults
total=$((3 * N + P + 1))
for p in "${plugins[@]}"; do
  IFS='=' read -r name path kind <<<"$p"
  ip netns add "pc-$name"
  netnses+=("pc-$name")
  for i in $(seq 0 "$total"); do ip netns add "pc-$name-$i"; netnses+=("pc-$name-$i"); done
  # Two warm-up ADDs: the first makes the bridge and the rules, the second finds them and
  # writes the rules' stamp (podnet's first ADD after installing rules checks them once more).
  CMD=ADD run "$name" "$path" "$kind" none 0
  CMD=ADD run "$name" "$path" "$kind" none 1
done
# The plugins take turns, ADD by ADD, so that a change of the machine's speed hits all alike.
i=2
for tool in "${tools[@]}"; do
  n=$N
  [[ $tool == perf ]] && n=$P
  for _ in $(seq 1 "$n"); do
    for p in "${plugins[@]}"; do
      IFS='=' read -r name path kind <<<"$p"
      CMD=ADD run "$name" "$path" "$kind" "$tool" "$i"
    done
    i=$((i + 1))
  done
done
for p in "${plugins[@]}"; do
  IFS='=' read -r name path kind <<<"$p"
  ir=$(for f in "$WORK/$name".ADD.*.cg; do awk '/^summary:/ {print $2; exit}' "$f"; done | median)
  sc=$(for f in "$WORK/$name".ADD.*.sc; do awk '$NF == "total" {print $4}' "$f"; done | median)
  nl=$(for f in "$WORK/$name".ADD.*.nl; do grep -cE '(sendto|sendmsg)\([0-9]+<NETLINK' "$f" || true; done | median)
  op=$(for f in "$WORK/$name".ADD.*.nl; do grep -E 'openat\(' "$f" | grep -cE 'O_CREAT|O_TMPFILE' || true; done | median)
  rn=$(for f in "$WORK/$name".ADD.*.nl; do grep -cE '\b(renameat2?|linkat)\(' "$f" || true; done | median)
  fs=$(for f in "$WORK/$name".ADD.*.nl; do grep -cE 'f(data)?sync\(' "$f" || true; done | median)
  cpu=$(for f in "$WORK/$name".ADD.*.pf; do awk '/task-clock/ {gsub(",", "", $1); print $1}' "$f"; done | median)
  pf=$(for f in "$WORK/$name".ADD.*.pf; do awk '/page-faults/ {gsub(",", "", $1); print $1}' "$f"; done | median)
  printf '%-10s %12s %9s %8s %6s %8s %7s %8s %7s\n' "$name" "$ir" "$sc" "$nl" "$op" "$rn" "$fs" "$cpu" "$pf"
  for j in $(seq 0 $((i - 1))); do CMD=DEL run "$name" "$path" "$kind" none "$j"; done
done
if [[ -n ${COUNT_KEEP:-} ]]; then
  rm -rf "${ARTIFACTS:-_artifacts}/podnet-counts"
  mkdir -p "${ARTIFACTS:-_artifacts}/podnet-counts"
  cp "$WORK"/*.?? "${ARTIFACTS:-_artifacts}/podnet-counts/"
  log "raw outputs in ${ARTIFACTS:-_artifacts}/podnet-counts"
fi
