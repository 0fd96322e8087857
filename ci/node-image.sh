#!/usr/bin/env bash
# ci/node-image.sh: the kind node image our clusters run, buildable with no container registry.
#
#   ci/node-image.sh               build it, or reuse the cached one. Progress goes to stderr;
#                                  the LAST line of stdout is the image reference:
#                                    image=$(ci/node-image.sh | tail -1)
#   ci/node-image.sh --print-ref   print the reference a build would produce; builds nothing
#   ci/node-image.sh sync-modules [MODULE...]
#                                  regenerate ci/node-image/<module>/go.mod,go.sum from
#                                  ci/versions.sh (after changing a version there)
#
# Which image (NODE_IMAGE_SOURCE, default auto):
#   published  kind's published kindest/node for this Kubernetes minor ($PUBLISHED_NODE_IMAGE)
#   local      built here, tagged cnigate/node:<kubernetes version>-<hash of the inputs>
#   auto       published if it is present, or the registry knows it within a few seconds
#              (GitHub runners); else local (machines without a registry).
#
# The local build follows kind's pkg/build/nodeimage step by step, but takes nothing from a
# registry. One script per step in ci/node-image/steps, run in this order, outputs and caches
# under $OUTPUT_DIR/node-image:
#   go-binaries.sh  Kubernetes, etcd, CoreDNS, crictl (wrapper modules ci/node-image/<name>),
#                   pause (ours), the reference CNI plugins (root module); cached per version
#                   and module contents
#   rootfs.sh       debootstrap --variant=minbase + NODE_PACKAGES, `docker import`ed; cached
#                   per suite and package list
#   base.sh         rootfs + kind's images/base/files, as kind's images/base/Dockerfile
#   images.sh       every image `kubeadm config images list` names, FROM scratch where possible
#   assemble.sh     base + kubeadm/kubelet/kubectl + those images imported into containerd, as
#                   kind's pkg/build/nodeimage/buildcontext.go
# Everything after the Go binaries and the rootfs is keyed by the input hash (ci/node-image/lib.sh):
# a second run with nothing changed finds the node image and builds nothing.
set -o errexit -o nounset -o pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
source "$REPO_ROOT/ci/lib.sh"
# shellcheck source=SCRIPTDIR/versions.sh
source "$REPO_ROOT/ci/versions.sh"
# shellcheck source=SCRIPTDIR/node-image/lib.sh
source "$REPO_ROOT/ci/node-image/lib.sh"
# shellcheck source=SCRIPTDIR/node-image/modules.sh
source "$REPO_ROOT/ci/node-image/modules.sh"
# shellcheck source=SCRIPTDIR/node-image/steps/go-binaries.sh
source "$REPO_ROOT/ci/node-image/steps/go-binaries.sh"
# shellcheck source=SCRIPTDIR/node-image/steps/rootfs.sh
source "$REPO_ROOT/ci/node-image/steps/rootfs.sh"
# shellcheck source=SCRIPTDIR/node-image/steps/base.sh
source "$REPO_ROOT/ci/node-image/steps/base.sh"
# shellcheck source=SCRIPTDIR/node-image/steps/images.sh
source "$REPO_ROOT/ci/node-image/steps/images.sh"
# shellcheck source=SCRIPTDIR/node-image/steps/assemble.sh
source "$REPO_ROOT/ci/node-image/steps/assemble.sh"

MANIFEST_PROBE_TIMEOUT=${MANIFEST_PROBE_TIMEOUT:-15}
PULL_TIMEOUT=${PULL_TIMEOUT:-900}

# choose_source: sets SOURCE (published|local) and SOURCE_REASON. Never pulls.
choose_source() {
  local err
  case ${NODE_IMAGE_SOURCE:-auto} in
    local) SOURCE=local SOURCE_REASON="NODE_IMAGE_SOURCE=local" ;;
    published) SOURCE=published SOURCE_REASON="NODE_IMAGE_SOURCE=published" ;;
    auto)
      if ! command -v docker >/dev/null; then
        SOURCE=local SOURCE_REASON="no docker CLI to ask the registry"
      elif image_exists "$PUBLISHED_NODE_IMAGE"; then
        SOURCE=published SOURCE_REASON="$PUBLISHED_NODE_IMAGE is already present"
      elif err=$(timeout "$MANIFEST_PROBE_TIMEOUT" docker manifest inspect "$PUBLISHED_NODE_IMAGE" 2>&1 >/dev/null); then
        SOURCE=published SOURCE_REASON="the registry has $PUBLISHED_NODE_IMAGE"
      else
        SOURCE=local
        SOURCE_REASON="registry probe failed within ${MANIFEST_PROBE_TIMEOUT}s: $(head -n 1 <<<"${err:-timed out}")"
      fi
      ;;
    *) die "NODE_IMAGE_SOURCE must be auto, published or local, not '$NODE_IMAGE_SOURCE'" ;;
  esac
}

use_published() {
  if ! image_exists "$PUBLISHED_NODE_IMAGE"; then
    phase "pull published image"
    log "pulling $PUBLISHED_NODE_IMAGE (timeout ${PULL_TIMEOUT}s)"
    if ! timeout "$PULL_TIMEOUT" docker pull "$PUBLISHED_NODE_IMAGE" >&2; then
      [[ ${NODE_IMAGE_SOURCE:-auto} == auto ]] || die "docker pull $PUBLISHED_NODE_IMAGE failed"
      log "pull failed: falling back to the local build"
      return 1
    fi
  fi
  if [[ $PUBLISHED_NODE_IMAGE != kindest/node:"$KUBERNETES_VERSION"@* ]]; then
    log "NOTE: kind $KIND_VERSION publishes no $KUBERNETES_VERSION node image; using ${PUBLISHED_NODE_IMAGE%@*}"
  fi
  NODE_IMAGE=$PUBLISHED_NODE_IMAGE
}

build_local() {
  NODE_IMAGE=$(local_ref)
  INPUT_HASH=${NODE_IMAGE##*-}
  if image_exists "$NODE_IMAGE"; then
    log "node image $NODE_IMAGE exists: nothing to build"
    return 0
  fi
  log "building $NODE_IMAGE (Kubernetes $KUBERNETES_VERSION, kind $KIND_VERSION, $GO_VERSION)"

  phase "prepare"
  ensure_commands jq=jq docker=docker.io
  check_modules
  mkdir -p "$WORK/logs"
  exec 9>"$WORK/.lock"
  if ! flock -n 9; then
    log "another ci/node-image.sh holds $WORK/.lock: waiting"
    flock 9
    if image_exists "$NODE_IMAGE"; then
      log "node image $NODE_IMAGE was built meanwhile"
      return 0
    fi
  fi

  phase "go binaries"
  step_go_binaries
  phase "rootfs"
  step_rootfs
  phase "base image"
  step_base
  phase "component images"
  step_images
  phase "node image"
  step_assemble
  prune_stale_base_images
  log "built $NODE_IMAGE ($(docker image inspect --format '{{.Size}}' "$NODE_IMAGE" | numfmt --to=iec))"
}

main() {
  case ${1:-build} in
    --print-ref)
      load_versions
      choose_source
      if [[ $SOURCE == published ]]; then echo "$PUBLISHED_NODE_IMAGE"; else local_ref; fi
      ;;
    sync-modules)
      shift
      sync_modules "$@"
      ;;
    build)
      phase "choose source"
      load_versions
      choose_source
      log "node image source: $SOURCE ($SOURCE_REASON)"
      if [[ $SOURCE == local ]] || ! use_published; then
        build_local
      fi
      phase_summary
      echo "$NODE_IMAGE"
      ;;
    -h | --help) sed -n '2,/^set -o/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
}

main "$@"
