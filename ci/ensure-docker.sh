#!/usr/bin/env bash
# ci/ensure-docker.sh: make sure a Docker engine runs on this machine and can start
# privileged containers (kind runs every node privileged). Idempotent; safe to run often.
#
#  1. `docker info` fails -> install Debian's docker.io if dockerd is missing, start dockerd
#     (systemd when it is PID 1, else in the background logging to $DOCKERD_LOG) and wait.
#  2. Probe: `docker run --rm --privileged <tiny FROM-scratch image>` (built here, no pull).
#  3. Only if the probe fails with "unable to apply caps" (root lacks a capability in its
#     bounding set, see ci/ensure-docker/runc-shim), build and install the runc shim as
#     Docker's default runtime (merged into /etc/docker/daemon.json), reload dockerd
#     (SIGHUP) and probe again; anything else still failing is fatal.
#
# Environment: DOCKERD_LOG (default /var/log/cnigate-dockerd.log), DOCKER_START_TIMEOUT (s, 90).
set -o errexit -o nounset -o pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
source "$REPO_ROOT/ci/lib.sh"

DOCKERD_LOG=${DOCKERD_LOG:-/var/log/cnigate-dockerd.log}
DOCKER_START_TIMEOUT=${DOCKER_START_TIMEOUT:-90}
DAEMON_JSON=/etc/docker/daemon.json
SHIM_SRC=$REPO_ROOT/ci/ensure-docker/runc-shim
SHIM_BIN=/usr/local/sbin/cnigate-runc-shim
SHIM_RUNTIME=cnigate-runc-shim
PROBE_SRC=$REPO_ROOT/ci/ensure-docker/probe

need_root() {
  [[ $EUID -eq 0 ]] || die "$1 needs root (run this script as root, or start Docker yourself)"
}

systemd_running() { [[ -d /run/systemd/system ]]; }

dockerd_pid() {
  local pid
  pid=$(cat /var/run/docker.pid 2>/dev/null) || return 1
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# wait_for CONDITION_FN WHAT: poll until CONDITION_FN succeeds, with progress and a timeout.
wait_for() {
  local cond=$1 what=$2 start=$SECONDS
  until "$cond"; do
    if ((SECONDS - start >= DOCKER_START_TIMEOUT)); then
      [[ -f $DOCKERD_LOG ]] && tail -n 30 "$DOCKERD_LOG" >&2
      die "timed out after ${DOCKER_START_TIMEOUT}s waiting for $what (log: $DOCKERD_LOG)"
    fi
    if ! systemd_running && ! dockerd_pid >/dev/null; then
      sleep 1 # the pid file may lag right after the start
      if ! dockerd_pid >/dev/null && ! "$cond"; then
        [[ -f $DOCKERD_LOG ]] && tail -n 30 "$DOCKERD_LOG" >&2
        die "dockerd exited while waiting for $what (log: $DOCKERD_LOG)"
      fi
    fi
    if (((SECONDS - start) % 5 == 0)); then log "waiting for $what ($((SECONDS - start))s)"; fi
    sleep 1
  done
}

docker_up() { docker info >/dev/null 2>&1; }

start_docker() {
  need_root "starting dockerd"
  if ! command -v dockerd >/dev/null; then
    log "dockerd not installed: apt-get install docker.io"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q docker.io >&2 || { apt-get update -q >&2 && apt-get install -y -q docker.io >&2; } ||
      die "could not install docker.io"
  fi
  if systemd_running; then
    log "starting docker with systemd"
    systemctl start docker
  elif dockerd_pid >/dev/null; then
    log "dockerd (pid $(dockerd_pid)) is running but not answering yet"
  else
    log "starting dockerd in the background (log: $DOCKERD_LOG)"
    mkdir -p "$(dirname "$DOCKERD_LOG")"
    # setsid: dockerd must outlive this script and its caller's process group.
    setsid -f dockerd </dev/null >>"$DOCKERD_LOG" 2>&1
  fi
  wait_for docker_up "the Docker engine"
  log "docker engine up: server $(docker version --format '{{.Server.Version}}')"
}

# The probe image: the do-nothing static binary of ci/ensure-docker/probe, alone in an
# image, tagged by the hash of its sources so a change rebuilds it.
probe_image() {
  local hash image dir
  hash=$(cat "$PROBE_SRC"/go.mod "$PROBE_SRC"/*.go | sha256sum | cut -c1-12)
  image=cnigate/docker-probe:$hash
  if ! docker image inspect "$image" >/dev/null 2>&1; then
    dir=$OUTPUT_DIR/docker-probe
    mkdir -p "$dir"
    (cd "$PROBE_SRC" && CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$dir/probe" .)
    # docker import of a one-file tar == FROM scratch + COPY, and needs no builder.
    tar -C "$dir" --owner=0 --group=0 -cf - probe |
      docker import --change 'ENTRYPOINT ["/probe"]' - "$image" >/dev/null
    log "built probe image $image"
  fi
  echo "$image"
}

# probe IMAGE: try a privileged container; its output is left in $probe_out.
probe_out=""
probe() {
  probe_out=$(docker run --rm --privileged "$1" 2>&1)
}

install_shim() {
  need_root "installing the runc shim"
  local real_runc tmp
  real_runc=$(command -v runc) || die "runc not found on PATH"
  [[ $(readlink -f "$real_runc") != "$SHIM_BIN" ]] || die "runc on PATH is the shim itself"
  log "building the runc shim (wraps $real_runc)"
  mkdir -p "$OUTPUT_DIR/bin"
  (cd "$SHIM_SRC" && CGO_ENABLED=0 go build -trimpath \
    -ldflags="-s -w -X main.realRunc=$real_runc" -o "$OUTPUT_DIR/bin/runc-shim" .)
  install -D -m 0755 "$OUTPUT_DIR/bin/runc-shim" "$SHIM_BIN"

  command -v jq >/dev/null || apt-get install -y -q jq >&2 || die "jq is needed to edit $DAEMON_JSON"
  mkdir -p "$(dirname "$DAEMON_JSON")"
  if [[ -s $DAEMON_JSON && ! -e $DAEMON_JSON.cnigate-orig ]]; then
    cp -p "$DAEMON_JSON" "$DAEMON_JSON.cnigate-orig"
  fi
  [[ -s $DAEMON_JSON ]] || echo '{}' >"$DAEMON_JSON"
  tmp=$(mktemp "$DAEMON_JSON.XXXXXX")
  jq --arg name "$SHIM_RUNTIME" --arg path "$SHIM_BIN" \
    '.runtimes[$name] = {path: $path} | .["default-runtime"] = $name' "$DAEMON_JSON" >"$tmp" ||
    { rm -f "$tmp"; die "could not merge $DAEMON_JSON (is it valid JSON?)"; }
  chmod 0644 "$tmp"
  mv "$tmp" "$DAEMON_JSON"
  log "registered $SHIM_RUNTIME as the default runtime in $DAEMON_JSON"

  # runtimes and default-runtime are reloadable: no restart, running containers survive.
  if systemd_running; then
    systemctl reload docker
  else
    kill -HUP "$(dockerd_pid)" || die "cannot signal dockerd"
  fi
  wait_for shim_is_default "dockerd to reload $DAEMON_JSON"
}

shim_is_default() {
  [[ $(docker info --format '{{.DefaultRuntime}}' 2>/dev/null) == "$SHIM_RUNTIME" ]]
}

main() {
  if docker_up; then
    log "docker engine already up: server $(docker version --format '{{.Server.Version}}')"
  else
    start_docker
  fi

  local image
  image=$(probe_image)
  if probe "$image"; then
    log "privileged containers work (default runtime: $(docker info --format '{{.DefaultRuntime}}'))"
    return 0
  fi
  if [[ $probe_out != *"unable to apply caps"* ]] || shim_is_default; then
    die "privileged probe failed:"$'\n'"$probe_out"
  fi
  log "privileged probe failed with the capability problem:"
  log "  $probe_out"
  log "this host's bounding set is $(awk '/^CapBnd/ {print $2}' /proc/self/status): installing the runc shim"
  install_shim
  probe "$image" || die "privileged containers still fail with the runc shim as default runtime:"$'\n'"$probe_out"
  log "privileged containers work now (default runtime: $SHIM_RUNTIME)"
}

main "$@"
