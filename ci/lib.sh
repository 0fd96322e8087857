# shellcheck shell=bash
# ci/lib.sh: the few helpers every ci/*.sh shares. Source it after computing REPO_ROOT:
#   REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
#   source "$REPO_ROOT/ci/lib.sh"
# Everything it prints goes to stderr, so a script's stdout stays free for its result.

: "${REPO_ROOT:?set REPO_ROOT before sourcing ci/lib.sh}"
OUTPUT_DIR=${OUTPUT_DIR:-$REPO_ROOT/_output}

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '[%s] ERROR: %s\n' "$(date +%H:%M:%S)" "$*" >&2; exit 1; }

# Phase timing: `phase NAME` closes the running phase (if any) and opens NAME;
# `phase_summary` closes the last one and prints a table of durations.
_phase_names=()
_phase_secs=()
_phase_current=""
_phase_start=0
phase_end() {
  [[ -n $_phase_current ]] || return 0
  _phase_names+=("$_phase_current")
  _phase_secs+=("$((SECONDS - _phase_start))")
  _phase_current=""
}
phase() {
  phase_end
  _phase_current=$1
  _phase_start=$SECONDS
  log "=== $1"
}
phase_summary() {
  phase_end
  local i total=0
  log "phase timings:"
  for i in "${!_phase_names[@]}"; do
    printf '  %-32s %5ss\n' "${_phase_names[$i]}" "${_phase_secs[$i]}" >&2
    total=$((total + _phase_secs[i]))
  done
  printf '  %-32s %5ss\n' "total" "$total" >&2
}

# One image builder everywhere: Debian's docker.io 20.10 has only the legacy builder (and a
# newer CLI without buildx refuses BuildKit), so Dockerfiles here avoid BuildKit-only syntax
# (`COPY --chmod`, `RUN --mount`) and every script builds with the legacy builder.
export DOCKER_BUILDKIT="${DOCKER_BUILDKIT:-0}"

# ensure_commands CMD=PACKAGE...: make sure each CMD is on PATH. Missing ones are installed with
# apt-get (their Debian PACKAGE) when running as root on a Debian/Ubuntu machine; otherwise the
# script stops at once naming them. With everything present it costs a few `command -v`.
ensure_commands() {
  local pair missing=()
  command -v go >/dev/null || die "go is missing: install the Go version named in go.mod and put it on PATH"
  for pair in "$@"; do
    command -v "${pair%%=*}" >/dev/null || missing+=("${pair#*=}")
  done
  ((${#missing[@]} == 0)) && return 0
  if [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null; then
    log "installing ${missing[*]} (missing; apt-get)"
    if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >&2; then
      die "apt-get install ${missing[*]} failed"
    fi
    for pair in "$@"; do
      command -v "${pair%%=*}" >/dev/null || die "${pair%%=*} still missing after installing ${pair#*=}"
    done
  else
    die "missing: ${missing[*]} (install as root: apt-get install -y ${missing[*]})"
  fi
}

# What the netns suite and podnet need on the machine besides Go and root (used by the
# scripts that source this file).
# shellcheck disable=SC2034
SUITE_COMMANDS=(iptables=iptables)

# run_with_progress [--every N] [--status FN] [--watch FN] WHAT LOG CMD...: run CMD with its
# output in LOG, in the background, and report while it runs: every N seconds (default 20)
# "WHAT: <elapsed>s ..." with the text FN prints (--status; default the log's last line), and
# every second the --watch FN, which logs events itself (e.g. a binary just linked). Both get
# the elapsed seconds as $1. On failure: the log's tail, then die. Long steps (a Go build, a
# debootstrap, a docker build) all report through this one runner.
run_with_progress() {
  local every=20 status="" watch="" what logfile start pid rc=0 next text
  while [[ $1 == --* ]]; do
    case $1 in
      --every) every=$2 ;;
      --status) status=$2 ;;
      --watch) watch=$2 ;;
      *) die "run_with_progress: unknown option $1" ;;
    esac
    shift 2
  done
  what=$1 logfile=$2
  shift 2
  mkdir -p "$(dirname "$logfile")"
  start=$SECONDS next=$every
  "$@" >"$logfile" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    [[ -z $watch ]] || "$watch" "$((SECONDS - start))"
    if ((SECONDS - start >= next)); then
      if [[ -n $status ]]; then text=$("$status" "$((SECONDS - start))"); else text=$(tail -n 1 "$logfile" | cut -c1-100); fi
      log "  $what: $((SECONDS - start))s ... $text"
      next=$((next + every))
    fi
  done
  wait "$pid" || rc=$?
  [[ -z $watch ]] || "$watch" "$((SECONDS - start))"
  if ((rc != 0)); then
    tail -n 40 "$logfile" >&2
    die "$what failed (exit $rc); full log: $logfile"
  fi
  log "  $what: done in $((SECONDS - start))s"
}

# fetch_busybox [DIR]: Debian's static busybox (busybox-static from the apt mirror, unpacked),
# cached in DIR (default $OUTPUT_DIR/busybox); sets BUSYBOX_BIN (DIR/bin/busybox) and
# BUSYBOX_VERSION (the package's). Used by the node image (kube-proxy's /bin/sh) and the e2e
# test image (ci/images/busybox): one download serves both.
fetch_busybox() {
  local dir=${1:-$OUTPUT_DIR/busybox}
  BUSYBOX_BIN=$dir/bin/busybox
  if [[ -x $BUSYBOX_BIN && -s $dir/version ]]; then
    # shellcheck disable=SC2034 # for the caller
    BUSYBOX_VERSION=$(<"$dir/version")
    return 0
  fi
  rm -rf "$dir" && mkdir -p "$dir/deb"
  # (the _apt sandbox user may not be able to write under $OUTPUT_DIR: download as ourselves)
  (cd "$dir/deb" && apt-get download -o APT::Sandbox::User="$(id -un)" busybox-static >&2) ||
    { apt-get update -q >&2 && (cd "$dir/deb" && apt-get download -o APT::Sandbox::User="$(id -un)" busybox-static >&2); } ||
    die "apt-get download busybox-static failed"
  dpkg-deb -x "$dir"/deb/busybox-static_*.deb "$dir/x"
  install -D -m 0755 "$dir/x/bin/busybox" "$BUSYBOX_BIN"
  dpkg-deb -f "$dir"/deb/busybox-static_*.deb Version >"$dir/version"
  rm -rf "$dir/x" "$dir/deb"
  # shellcheck disable=SC2034 # for the caller
  BUSYBOX_VERSION=$(<"$dir/version")
}

# stamp_ldflags VERSION COMMIT: the -X flags that stamp every binary's version and commit
# (internal/buildinfo, read by cnigate version, podnet --version).
stamp_ldflags() {
  printf -- '-X github.com/cnigate/cnigate/internal/buildinfo.version=%s -X github.com/cnigate/cnigate/internal/buildinfo.commit=%s' "$1" "$2"
}

# build_image MODE IMAGE CTX TAR VERSION COMMIT: docker build the context CTX as IMAGE, labelled
# with VERSION and COMMIT; with MODE save also write it to TAR, saying how to mirror it. The one
# tail of ci/image.sh and ci/cnigate-image.sh.
build_image() {
  local mode=$1 image=$2 ctx=$3 tar=$4 version=$5 commit=$6
  # the legacy builder warns on stderr that it is deprecated: show its output only on failure
  docker build -q --label "io.cnigate.version=$version" --label "io.cnigate.commit=$commit" \
    -t "$image" "$ctx" >"$ctx.log" 2>&1 || { cat "$ctx.log" >&2; die "docker build $image failed"; }
  log "image $image ($(docker image inspect --format '{{.Size}}' "$image") bytes)"
  if [[ $mode == save ]]; then
    mkdir -p "$(dirname "$tar")"
    docker save -o "$tar" "$image"
    local name=${image%:*} tag=${image##*:}
    log "wrote $tar ($(du -h "$tar" | cut -f1)); mirror it: docker load -i $tar && docker tag $image <registry>/${name##*/}:$tag && docker push <registry>/${name##*/}:$tag"
  fi
}

# write_wrapper_gomod FILE GENERATOR PURPOSE MODULE GO_LINE GODEBUG REPLACES TOOL...: the go.mod
# of a wrapper module (a module of ours whose `tool` block builds upstream programs at pinned
# versions): FILE written with the "Code generated by GENERATOR" header, PURPOSE as its comment,
# module path MODULE, `go GO_LINE`, the GODEBUG line(s), the TOOLs, and REPLACES (replace lines,
# "\t<old> => <new> <version>" each; "" for none). The caller then runs go get + go mod tidy.
write_wrapper_gomod() {
  local file=$1 generator=$2 purpose=$3 module=$4 go_line=$5 godebug=$6 replaces=$7
  shift 7
  {
    echo "// Code generated by $generator. DO NOT EDIT."
    echo
    echo "// $purpose"
    echo "module $module"
    echo
    echo "go $go_line"
    echo
    echo "$godebug"
    echo
    echo "tool ("
    printf '\t%s\n' "$@"
    echo ")"
    if [[ -n $replaces ]]; then
      echo
      echo "replace ("
      echo "$replaces"
      echo ")"
    fi
  } >"$file"
}
