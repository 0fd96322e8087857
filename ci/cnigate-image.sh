#!/usr/bin/env bash
# ci/cnigate-image.sh: the gate's own image, cnigate/cnigate:<version>, built locally (no registry
# here; as ci/image.sh builds podnet's): make cnigate-image / make cnigate-image-save. It runs
# `cnigate e2e --existing-cluster` in a cluster as a Job with its ServiceAccount (in-cluster
# config): `cnigate manifest --gate-job` renders the Job and its RBAC (docs/cli.md).
#
#   ci/cnigate-image.sh [build]  build it; progress on stderr, the LAST line of stdout is the reference
#   ci/cnigate-image.sh save     build it and write it as a tarball ($CNIGATE_IMAGE_TAR), for mirroring
#                                into a registry the cluster pulls from (docker load -i, tag, push)
#
# What goes in (ci/images/cnigate/Dockerfile): the static cnigate binary, stamped as bin/cnigate
# (stamp_ldflags), and an empty /tmp; FROM scratch.
#
# Environment:
#   VERSION=<git describe>   stamped into cnigate and used as the tag
#   CNIGATE_IMAGE_REPO=cnigate/cnigate
#   CNIGATE_IMAGE_TAG=       the tag (default: VERSION)
#   CNIGATE_IMAGE_TAR=_output/cnigate-image.tar   where `save` writes
set -o errexit -o nounset -o pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
source "$REPO_ROOT/ci/lib.sh"

MODE=${1:-build}
case $MODE in build | save) ;; *) die "usage: ci/cnigate-image.sh [build|save]" ;; esac
VERSION=${VERSION:-$(git -C "$REPO_ROOT" describe --tags --always --dirty 2>/dev/null || echo devel)}
COMMIT=$(git -C "$REPO_ROOT" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
IMAGE=${CNIGATE_IMAGE_REPO:-cnigate/cnigate}:${CNIGATE_IMAGE_TAG:-$VERSION}
IMAGE_TAR=${CNIGATE_IMAGE_TAR:-$OUTPUT_DIR/cnigate-image.tar}

ensure_commands docker=docker.io
"$REPO_ROOT/ci/ensure-docker.sh"
ctx=$OUTPUT_DIR/images/cnigate-ctx
rm -rf "$ctx" && mkdir -p "$ctx/rootfs/usr/local/bin" "$ctx/rootfs/tmp"
chmod 1777 "$ctx/rootfs/tmp"
cp "$REPO_ROOT/ci/images/cnigate/Dockerfile" "$ctx/"
log "building cnigate ($VERSION)"
(cd "$REPO_ROOT" && CGO_ENABLED=0 go build -trimpath -ldflags "-s $(stamp_ldflags "$VERSION" "$COMMIT")" \
  -o "$ctx/rootfs/usr/local/bin/cnigate" ./cmd/cnigate)
build_image "$MODE" "$IMAGE" "$ctx" "$IMAGE_TAR" "$VERSION" "$COMMIT"
echo "$IMAGE"
