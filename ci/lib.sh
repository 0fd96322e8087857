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
