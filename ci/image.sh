#!/usr/bin/env bash
# ci/image.sh: podnet's deployable image, cnigate/podnet-agent:<version>, built locally (no
# registry here; the same approach as the e2e test image): make image / make image-save.
#
#   ci/image.sh [build]  build it; progress on stderr, the LAST line of stdout is the reference
#   ci/image.sh save     build it and write it as a tarball ($IMAGE_TAR), for mirroring into a
#                        registry the cluster pulls from (docker load -i, tag, push)
#   ci/image.sh manifest build it (unless IMAGE is given) and render the manifest that deploys it
#                        (cnigate manifest) to $MANIFEST, for NETWORK and/or NETWORK6 (the cluster's
#                        pod network per family, kubeadm's --pod-network-cidr), MTU (1500),
#                        ROUTES (node|none), IMAGE_PULL_POLICY (IfNotPresent)
#
# What goes in (ci/images/podnet-agent/Dockerfile): podnet-agent (cmd/podnet-agent), podnet
# (plugin/), loopback and portmap (the plugins module go.mod pins), all static; iptables and its
# libraries unpacked from Debian's packages (AGENT_IMAGE_PACKAGES, ci/versions.sh), because
# go-iptables runs the iptables binary and the rules must be the same nf_tables rules podnet's
# own ADD writes with the node's iptables.
#
# Environment:
#   VERSION=<git describe>   stamped into podnet-agent and podnet and used as the tag
#   IMAGE_REPO=cnigate/podnet-agent
#   IMAGE_DEFECT=            a defective candidate for the rollout gate's proof (docs/rollout.md):
#                            built with -tags podnet_defects and ENV PODNET_DEFECT=<this>, tagged
#                            <version>-defect-<this>. Never in a release build.
#   IMAGE_TAG=               the tag (default: VERSION, plus the defect suffix)
#   IMAGE_TAR=_output/podnet-agent-image.tar   where `save` writes
#   MANIFEST=_output/podnet.yaml               where `manifest` writes
set -o errexit -o nounset -o pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
source "$REPO_ROOT/ci/lib.sh"
# shellcheck source=SCRIPTDIR/versions.sh
source "$REPO_ROOT/ci/versions.sh"

MODE=${1:-build}
VERSION=${VERSION:-$(git -C "$REPO_ROOT" describe --tags --always --dirty 2>/dev/null || echo devel)}
COMMIT=$(git -C "$REPO_ROOT" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
IMAGE_REPO=${IMAGE_REPO:-cnigate/podnet-agent}
IMAGE_DEFECT=${IMAGE_DEFECT:-}
IMAGE_TAG=${IMAGE_TAG:-$VERSION${IMAGE_DEFECT:+-defect-$IMAGE_DEFECT}}
IMAGE_TAR=${IMAGE_TAR:-$OUTPUT_DIR/podnet-agent-image.tar}
IMAGE=$IMAGE_REPO:$IMAGE_TAG
case $MODE in build | save | manifest) ;; *) die "usage: ci/image.sh [build|save|manifest]" ;; esac

if [[ $MODE == manifest ]]; then
  MANIFEST=${MANIFEST:-$OUTPUT_DIR/podnet.yaml}
  [[ -n ${NETWORK:-}${NETWORK6:-} ]] || die "make manifest needs NETWORK=<IPv4 pod network> and/or NETWORK6=<IPv6 pod network> (kubeadm's --pod-network-cidr)"
  [[ -x $REPO_ROOT/bin/cnigate ]] || die "bin/cnigate is missing (make manifest builds it)"
  image=${IMAGE:-$("$0" build | tail -n 1)}
  mkdir -p "$(dirname "$MANIFEST")"
  "$REPO_ROOT/bin/cnigate" manifest --image "$image" --network "${NETWORK:-}" --network6 "${NETWORK6:-}" \
    --mtu "${MTU:-1500}" --routes "${ROUTES:-node}" --image-pull-policy "${IMAGE_PULL_POLICY:-IfNotPresent}" -o "$MANIFEST"
  exit 0
fi
[[ -z $IMAGE_DEFECT || $IMAGE_DEFECT =~ ^[a-z-]+$ ]] || die "IMAGE_DEFECT must be a defect name (docs/rollout.md), not '$IMAGE_DEFECT'"

# fetch_packages DIR: AGENT_IMAGE_PACKAGES from the apt mirror, unpacked into DIR/rootfs; cached
# per package list (DIR/packages holds the list it was made from).
fetch_packages() {
  local dir=$1 want deb
  want="$DEBIAN_SUITE ${AGENT_IMAGE_PACKAGES[*]}"
  if [[ -d $dir/rootfs && $(cat "$dir/packages" 2>/dev/null) == "$want" ]]; then return 0; fi
  rm -rf "$dir" && mkdir -p "$dir/deb" "$dir/rootfs"
  log "fetching ${AGENT_IMAGE_PACKAGES[*]} (apt-get download)"
  # (the _apt sandbox user may not be able to write under $OUTPUT_DIR: download as ourselves)
  (cd "$dir/deb" && apt-get download -o APT::Sandbox::User="$(id -un)" "${AGENT_IMAGE_PACKAGES[@]}" >&2) ||
    { apt-get update -q >&2 && (cd "$dir/deb" && apt-get download -o APT::Sandbox::User="$(id -un)" "${AGENT_IMAGE_PACKAGES[@]}" >&2); } ||
    die "apt-get download ${AGENT_IMAGE_PACKAGES[*]} failed"
  for deb in "$dir"/deb/*.deb; do dpkg-deb -x "$deb" "$dir/rootfs"; done
  # dpkg-deb -x runs no maintainer script: make the links update-alternatives would make
  # (the nft backend, Debian's default) and the loader's usual place.
  local t
  for t in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
    ln -sf "${t/tables/tables-nft}" "$dir/rootfs/usr/sbin/$t"
  done
  rm -rf "$dir/deb" "$dir/rootfs/usr/share/doc" "$dir/rootfs/usr/share/man" "$dir/rootfs/usr/share/lintian"
  echo "$want" >"$dir/packages"
}

ensure_commands docker=docker.io apt-get=apt dpkg-deb=dpkg
"$REPO_ROOT/ci/ensure-docker.sh"
ctx=$OUTPUT_DIR/images/podnet-agent-ctx
fetch_packages "$OUTPUT_DIR/images/podnet-agent-packages"
rm -rf "$ctx" && mkdir -p "$ctx"
cp -a "$OUTPUT_DIR/images/podnet-agent-packages/rootfs" "$ctx/rootfs"
mkdir -p "$ctx/rootfs/usr/local/bin" "$ctx/rootfs/opt/podnet/bin" "$ctx/rootfs/run" "$ctx/rootfs/tmp"
cp "$REPO_ROOT/ci/images/podnet-agent/Dockerfile" "$ctx/"

tags=()
[[ -z $IMAGE_DEFECT ]] || tags=(-tags podnet_defects)
ldflags="-s $(stamp_ldflags "$VERSION" "$COMMIT")"
log "building podnet-agent, podnet, loopback, portmap ($VERSION${IMAGE_DEFECT:+, defect $IMAGE_DEFECT})"
(
  cd "$REPO_ROOT"
  export CGO_ENABLED=0
  go build -trimpath "${tags[@]}" -ldflags "$ldflags" -o "$ctx/rootfs/usr/local/bin/podnet-agent" ./cmd/podnet-agent
  go build -trimpath "${tags[@]}" -ldflags "$ldflags" -o "$ctx/rootfs/opt/podnet/bin/podnet" ./plugin
  go build -trimpath -ldflags=-s -o "$ctx/rootfs/opt/podnet/bin/" \
    github.com/containernetworking/plugins/plugins/main/loopback github.com/containernetworking/plugins/plugins/meta/portmap
)
if [[ -n $IMAGE_DEFECT ]]; then
  printf 'ENV PODNET_DEFECT=%s\n' "$IMAGE_DEFECT" >>"$ctx/Dockerfile"
fi
build_image "$MODE" "$IMAGE" "$ctx" "$IMAGE_TAR" "$VERSION" "$COMMIT"
echo "$IMAGE"
