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
# The local build follows kind (sigs.k8s.io/kind, pinned in the root go.mod) step by step, but
# takes nothing from a registry. Outputs and caches are under _output/node-image:
#   go binaries  one wrapper module per component in ci/node-image/<name> (kubernetes: 7
#                commands, etcd, coredns, crictl), pause (our own), the reference CNI plugins
#                loopback, host-local, bridge, portmap, bandwidth (root module);
#                cached per version and module contents
#   rootfs       debootstrap --variant=minbase + NODE_PACKAGES, `docker import`ed; cached per
#                suite and package list
#   base image   rootfs + kind's images/base/files, as kind's images/base/Dockerfile
#   images       every image `kubeadm config images list` names, FROM scratch where possible
#   node image   base + kubeadm/kubelet/kubectl + those images imported into containerd, as
#                kind's pkg/build/nodeimage/buildcontext.go
# Everything after the Go binaries and the rootfs is keyed by the input hash (this script,
# ci/versions.sh, the ci/node-image tree, the kind/CNI/Go versions): a second run with
# nothing changed finds the node image and builds nothing.
set -o errexit -o nounset -o pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
source "$REPO_ROOT/ci/lib.sh"
# shellcheck source=SCRIPTDIR/versions.sh
source "$REPO_ROOT/ci/versions.sh"

NODE_DIR=$REPO_ROOT/ci/node-image
WORK=$OUTPUT_DIR/node-image
NODE_REPO=cnigate/node
MANIFEST_PROBE_TIMEOUT=${MANIFEST_PROBE_TIMEOUT:-15}
PULL_TIMEOUT=${PULL_TIMEOUT:-900}

KUBE_COMMANDS=(kubeadm kubelet kubectl kube-apiserver kube-controller-manager kube-scheduler kube-proxy)
NODE_COMMANDS=(kubeadm kubelet kubectl) # installed in the node's /usr/bin, as kind does

# The wrapper modules under ci/node-image: upstream module, version, and the commands built.
WRAPPED=(kubernetes etcd coredns crictl)
declare -A MOD_PATH=(
  [kubernetes]=k8s.io/kubernetes
  [etcd]=go.etcd.io/etcd/server/v3
  [coredns]=github.com/coredns/coredns
  [crictl]=sigs.k8s.io/cri-tools
)
declare -A MOD_VERSION=(
  [kubernetes]=$KUBERNETES_VERSION
  [etcd]=$ETCD_VERSION
  [coredns]=$COREDNS_VERSION
  [crictl]=$CRICTL_VERSION
)
declare -A MOD_TOOLS=(
  [kubernetes]=$(printf 'k8s.io/kubernetes/cmd/%s ' "${KUBE_COMMANDS[@]}")
  [etcd]=go.etcd.io/etcd/server/v3
  [coredns]=github.com/coredns/coredns
  [crictl]=sigs.k8s.io/cri-tools/cmd/crictl
)

# ---------------------------------------------------------------------------------------------
# helpers

# root_module_version PATH: the version the root go.mod pins for PATH.
root_module_version() {
  (cd "$REPO_ROOT" && go list -m -f '{{.Version}}' "$1")
}

need_cmd() {
  local cmd=$1 pkg=${2:-$1}
  command -v "$cmd" >/dev/null && return 0
  [[ $EUID -eq 0 ]] || die "$cmd is missing (apt-get install $pkg)"
  log "installing $pkg"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$pkg" >&2 ||
    { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$pkg" >&2; } ||
    die "could not install $pkg"
}

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

image_label() { docker image inspect --format "{{index .Config.Labels \"$2\"}}" "$1" 2>/dev/null; }

# run_logged WHAT LOG CMD...: run CMD with its output in LOG, printing the log's last line every
# 20 s so long steps show progress; on failure show the log's tail and die.
run_logged() {
  local what=$1 logfile=$2 start=$SECONDS pid rc=0 next=20
  shift 2
  mkdir -p "$(dirname "$logfile")"
  "$@" >"$logfile" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    if ((SECONDS - start >= next)); then
      log "  $what: $((SECONDS - start))s ... $(tail -n 1 "$logfile" | cut -c1-100)"
      next=$((next + 20))
    fi
  done
  wait "$pid" || rc=$?
  if ((rc != 0)); then
    tail -n 40 "$logfile" >&2
    die "$what failed (exit $rc); full log: $logfile"
  fi
  log "  $what: done in $((SECONDS - start))s"
}

# hash_files FILE...: short content hash of files (paths relative to REPO_ROOT included).
hash_files() {
  (cd "$REPO_ROOT" && find "$@" -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) |
    sha256sum | cut -c1-10
}

# ---------------------------------------------------------------------------------------------
# versions and the input hash

load_versions() {
  KIND_VERSION=$(root_module_version sigs.k8s.io/kind)
  CNI_PLUGINS_VERSION=$(root_module_version github.com/containernetworking/plugins)
  GO_VERSION=$(go env GOVERSION)
  GO_ARCH=$(go env GOARCH)
  ETCD_IMAGE_TAG=${ETCD_VERSION#v}-$ETCD_IMAGE_REVISION
}

input_hash() {
  {
    printf '%s\n' "kind=$KIND_VERSION" "cni=$CNI_PLUGINS_VERSION" "go=$GO_VERSION/$GO_ARCH"
    hash_files ci/node-image ci/versions.sh ci/node-image.sh
  } | sha256sum | cut -c1-10
}

local_ref() { echo "$NODE_REPO:$KUBERNETES_VERSION-$(input_hash)"; }

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

# ---------------------------------------------------------------------------------------------
# sync-modules: versions.sh -> ci/node-image/<module>/go.mod

# upstream_gomod PATH VERSION: the go.mod file of an upstream module version (downloads it).
upstream_gomod() {
  go mod download -json "$1@$2" | jq -r '.GoMod // error("no GoMod for \(.Path)")'
}

sync_module() {
  local name=$1 dir=$NODE_DIR/$1 path=${MOD_PATH[$1]} version=${MOD_VERSION[$1]} upstream
  local go_line godebug tool
  log "sync $name: $path@$version"
  upstream=$(upstream_gomod "$path" "$version")

  # Keep upstream's language version and GODEBUG defaults: they set runtime behaviour of the
  # main module, which the wrapper now is. `tool` needs go >= 1.24.
  go_line=$(awk '$1 == "go" {print $2; exit}' "$upstream")
  godebug=$(awk '$1 == "godebug" {print}' "$upstream")
  [[ -n $godebug ]] || godebug="godebug default=go$(cut -d. -f1,2 <<<"$go_line")"
  if [[ $(printf '%s\n' "$go_line" 1.24 | sort -V | head -n 1) != 1.24 ]]; then go_line=1.24; fi

  mkdir -p "$dir"
  {
    echo "// Code generated by ci/node-image.sh sync-modules from ci/versions.sh. DO NOT EDIT."
    echo
    echo "// Builds the commands of the tool block from $path $version."
    echo "module github.com/cnigate/cnigate/ci/node-image/$name"
    echo
    echo "go $go_line"
    echo
    echo "$godebug"
    echo
    echo "tool ("
    for tool in ${MOD_TOOLS[$name]}; do printf '\t%s\n' "$tool"; done
    echo ")"
    if [[ $name == kubernetes ]]; then
      # k8s.io/kubernetes points its staging repos at ./staging/src/...; the published
      # k8s.io/<repo> v0.<minor>.<patch> are the same code.
      echo
      echo "replace ("
      awk -v v="v0.${KUBERNETES_VERSION#v1.}" '$2 == "=>" && $3 ~ /^\.\/staging\// {printf "\t%s => %s %s\n", $1, $1, v}' "$upstream"
      echo ")"
    fi
  } >"$dir/go.mod"
  rm -f "$dir/go.sum"
  (cd "$dir" && go get "$path@$version" && go mod tidy) >&2
}

sync_modules() {
  need_cmd jq
  load_versions
  local name
  (($#)) || set -- "${WRAPPED[@]}"
  for name in "$@"; do
    [[ -n ${MOD_PATH[$name]:-} ]] || die "no wrapper module '$name' (have: ${WRAPPED[*]})"
    sync_module "$name"
  done
  check_modules
  log "done; review and commit: git diff --stat -- ci/node-image"
}

# check_modules: every wrapper module requires exactly the version versions.sh pins.
check_modules() {
  local name have
  for name in "${WRAPPED[@]}"; do
    have=$(go mod edit -json "$NODE_DIR/$name/go.mod" |
      jq -r --arg p "${MOD_PATH[$name]}" '[.Require[]? | select(.Path == $p) | .Version][0] // "none"')
    [[ $have == "${MOD_VERSION[$name]}" ]] ||
      die "ci/node-image/$name/go.mod has ${MOD_PATH[$name]} $have, ci/versions.sh says ${MOD_VERSION[$name]}: run ci/node-image.sh sync-modules"
  done
}

# ---------------------------------------------------------------------------------------------
# Go binaries

# go_build_cached NAME DIR KEY... -- GO BUILD ARGS: `go build -C DIR -o OUT/ ARGS`, unless OUT
# (named by NAME and a hash of the KEYs and the Go version) is already complete; sets GO_OUT.
# While building it reports each binary as it is linked, with the time since the start.
go_build_cached() {
  local name=$1 dir=$2 key start logfile pid rc=0 bin seen="" next=30
  shift 2
  local -a key_parts=()
  while [[ $1 != -- ]]; do key_parts+=("$1"); shift; done
  shift
  key=$(printf '%s\n' "${key_parts[@]}" "$GO_VERSION/$GO_ARCH" | sha256sum | cut -c1-10)
  GO_OUT=$WORK/gobin/$name-$key
  if [[ -f $GO_OUT/.complete ]]; then
    log "  $name: cached ($GO_OUT)"
    prune_go_builds "$name"
    return 0
  fi
  rm -rf "$GO_OUT"
  mkdir -p "$GO_OUT"
  logfile=$WORK/logs/go-$name.log
  start=$SECONDS
  CGO_ENABLED=0 go build -C "$dir" -v -trimpath -o "$GO_OUT/" "$@" >"$logfile" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    for bin in "$GO_OUT"/*; do
      [[ -f $bin && " $seen " != *" ${bin##*/} "* ]] || continue
      seen+=" ${bin##*/}"
      log "  $name: ${bin##*/} linked after $((SECONDS - start))s"
    done
    if ((SECONDS - start >= next)); then
      log "  $name: compiling, $((SECONDS - start))s, $(grep -c . "$logfile") packages so far"
      next=$((next + 30))
    fi
  done
  wait "$pid" || rc=$?
  if ((rc != 0)); then
    tail -n 30 "$logfile" >&2
    die "go build of $name failed; log: $logfile"
  fi
  for bin in "$GO_OUT"/*; do
    [[ " $seen " == *" ${bin##*/} "* ]] || log "  $name: ${bin##*/} linked after $((SECONDS - start))s"
  done
  touch "$GO_OUT/.complete"
  log "  $name: built in $((SECONDS - start))s"
  prune_go_builds "$name"
}

# prune_go_builds NAME: drop NAME's builds for other keys than GO_OUT (we hold the lock).
prune_go_builds() {
  find "$WORK/gobin" -mindepth 1 -maxdepth 1 -name "$1-*" ! -path "$GO_OUT" -exec rm -rf {} +
}

# module_key NAME: hash of a module under ci/node-image (go.mod, go.sum, sources).
module_key() { hash_files "ci/node-image/$1"; }

# kube_ldflags: version stamping as kubernetes' hack/lib/version.sh, for both version packages.
# buildDate is the release tag's commit time from the module proxy: reproducible.
kube_ldflags() {
  local minor build_date pkg flags="-s -w"
  minor=${KUBERNETES_VERSION#v1.}
  minor=${minor%%.*}
  build_date=$(go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | jq -r .Time)
  for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
    flags+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date"
  done
  echo "$flags"
}

build_go_binaries() {
  local name ldflags
  local -a tools
  # kubernetes: one `go build` for all seven commands, they share most packages.
  ldflags=$(kube_ldflags)
  read -ra tools <<<"${MOD_TOOLS[kubernetes]}"
  go_build_cached kubernetes "$NODE_DIR/kubernetes" "$KUBERNETES_VERSION" "$(module_key kubernetes)" "$ldflags" -- \
    -ldflags "$ldflags" "${tools[@]}"
  KUBE_BIN=$GO_OUT
  "$KUBE_BIN/kubeadm" version -o short | grep -qx "$KUBERNETES_VERSION" ||
    die "kubeadm reports $("$KUBE_BIN/kubeadm" version -o short), want $KUBERNETES_VERSION"

  for name in etcd coredns crictl; do
    read -ra tools <<<"${MOD_TOOLS[$name]}"
    ldflags="-s -w"
    # (etcd and CoreDNS take their version from source constants)
    [[ $name != crictl ]] || ldflags+=" -X sigs.k8s.io/cri-tools/pkg/version.Version=$CRICTL_VERSION"
    go_build_cached "$name" "$NODE_DIR/$name" "${MOD_VERSION[$name]}" "$(module_key "$name")" "$ldflags" -- \
      -ldflags "$ldflags" "${tools[@]}"
    printf -v "GO_OUT_${name^^}" '%s' "$GO_OUT"
  done
  ETCD_BIN=$GO_OUT_ETCD/server # `go build` names a .../v3 module's binary after the element before
  COREDNS_BIN=$GO_OUT_COREDNS/coredns
  CRICTL_BIN=$GO_OUT_CRICTL/crictl

  ldflags="-s -w -X main.version=$PAUSE_VERSION"
  go_build_cached pause "$NODE_DIR/pause" "$PAUSE_VERSION" "$(module_key pause)" "$ldflags" -- -ldflags "$ldflags" .
  PAUSE_BIN=$GO_OUT/pause

  # The upstream reference CNI plugins, in /opt/cni/bin as in kind's own image: loopback (which
  # containerd needs), and what the e2e conflists chain (portmap after podnet; bridge +
  # host-local + portmap for CNI=bridge) or may (bandwidth, ptp, tuning). Built from the
  # containernetworking/plugins version the root go.mod pins (they are `tool`s there).
  ldflags="-s -w -X github.com/containernetworking/plugins/pkg/utils/buildversion.BuildVersion=$CNI_PLUGINS_VERSION"
  go_build_cached cni-plugins "$REPO_ROOT" "$CNI_PLUGINS_VERSION" "$ldflags" "${CNI_REFERENCE_PLUGINS[*]}" -- -ldflags "$ldflags" \
    "${CNI_REFERENCE_PLUGINS[@]/#/github.com/containernetworking/plugins/plugins/}"
  CNI_BIN=$GO_OUT

  local bin
  for bin in "$ETCD_BIN" "$COREDNS_BIN" "$CRICTL_BIN" "$PAUSE_BIN" "${CNI_REFERENCE_PLUGINS[@]/#*\//$CNI_BIN/}"; do
    [[ -x $bin ]] || die "expected binary missing: $bin"
  done
}

# busybox for the kube-proxy image: Debian's busybox-static, from the apt mirror.
fetch_busybox() {
  local dir=$WORK/busybox-$DEBIAN_SUITE
  BUSYBOX_BIN=$dir/bin/busybox
  if [[ -x $BUSYBOX_BIN ]]; then
    log "  busybox: cached ($(<"$dir/version"))"
    return 0
  fi
  rm -rf "$dir" && mkdir -p "$dir/deb"
  # (the _apt sandbox user may not be able to write under $REPO_ROOT: download as ourselves)
  (cd "$dir/deb" && apt-get download -o APT::Sandbox::User="$(id -un)" busybox-static >&2) ||
    { apt-get update -q >&2 && (cd "$dir/deb" && apt-get download -o APT::Sandbox::User="$(id -un)" busybox-static >&2); } ||
    die "apt-get download busybox-static failed"
  dpkg-deb -x "$dir"/deb/busybox-static_*.deb "$dir/x"
  install -D -m 0755 "$dir/x/bin/busybox" "$BUSYBOX_BIN"
  dpkg-deb -f "$dir"/deb/busybox-static_*.deb Version >"$dir/version"
  log "  busybox: busybox-static $(<"$dir/version")"
}

# ---------------------------------------------------------------------------------------------
# rootfs and base image

build_rootfs() {
  local key dir
  key=$(printf '%s\n' "$DEBIAN_SUITE" "${NODE_PACKAGES[@]}" | sha256sum | cut -c1-10)
  ROOTFS_IMAGE=cnigate/node-rootfs:$DEBIAN_SUITE-$key
  if image_exists "$ROOTFS_IMAGE"; then
    log "  rootfs: cached ($ROOTFS_IMAGE)"
    return 0
  fi
  need_cmd debootstrap
  dir=$WORK/rootfs
  unmount_under "$dir"
  rm -rf --one-file-system "$dir"
  run_logged "debootstrap $DEBIAN_SUITE" "$WORK/logs/debootstrap.log" \
    debootstrap --variant=minbase --include="$(IFS=,; echo "${NODE_PACKAGES[*]}")" \
    "$DEBIAN_SUITE" "$dir" "$DEBIAN_MIRROR"
  unmount_under "$dir"
  rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* "$dir"/var/log/*.log
  log "  rootfs: $(du -sh --one-file-system "$dir" | cut -f1), importing as $ROOTFS_IMAGE"
  # shellcheck disable=SC2016 # $1/$2 expand in the inner bash
  run_logged "docker import" "$WORK/logs/rootfs-import.log" bash -c \
    'tar -C "$1" --numeric-owner --one-file-system --exclude="./dev/*" --exclude="./proc/*" --exclude="./sys/*" -cf - . |
       docker import - "$2"' _ "$dir" "$ROOTFS_IMAGE"
  rm -rf --one-file-system "$dir"
}

# unmount_under DIR: undo mounts an interrupted debootstrap may leave behind.
unmount_under() {
  local m
  [[ -d $1 ]] || return 0
  awk -v d="$1/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r | while read -r m; do
    umount -l "$m" || true
  done
}

build_base_image() {
  local ctx kind_files
  BASE_IMAGE=cnigate/node-base:$INPUT_HASH
  if image_exists "$BASE_IMAGE"; then
    log "  base image: cached ($BASE_IMAGE)"
    return 0
  fi
  kind_files=$(cd "$REPO_ROOT" && go mod download -json "sigs.k8s.io/kind@$KIND_VERSION" | jq -r .Dir)/images/base/files
  [[ -d $kind_files ]] || die "kind's base image files not found at $kind_files"
  ctx=$WORK/context/base
  rm -rf "$ctx" && mkdir -p "$ctx/cni"
  # kind's Dockerfile COPYs these with --chmod: scripts 0755, everything else 0644.
  cp -r "$kind_files" "$ctx/files"
  find "$ctx/files" -type d -exec chmod 0755 {} +
  find "$ctx/files" -type f -exec chmod 0644 {} +
  chmod 0755 "$ctx"/files/usr/local/bin/* "$ctx"/files/kind/bin/*
  cp -a "$NODE_DIR/base/overlay" "$ctx/overlay"
  cp "$CNI_BIN"/* "$ctx/cni/"
  cp "$CRICTL_BIN" "$ctx/crictl"
  cp "$NODE_DIR/base/Dockerfile" "$ctx/Dockerfile"
  run_logged "docker build $BASE_IMAGE" "$WORK/logs/base-image.log" \
    docker build --label "cnigate.inputs=$INPUT_HASH" \
    --build-arg "ROOTFS_IMAGE=$ROOTFS_IMAGE" --build-arg "PAUSE_IMAGE=registry.k8s.io/pause:$PAUSE_VERSION" \
    -t "$BASE_IMAGE" "$ctx"
  rm -rf "$ctx"
}

# ---------------------------------------------------------------------------------------------
# component images

# build_image REF DOCKERFILE FILE... [-- BUILD ARGS]: build REF from DOCKERFILE with FILEs as the
# context, unless REF already carries this input hash.
build_image() {
  local ref=$1 dockerfile=$2 ctx
  shift 2
  if [[ $(image_label "$ref" cnigate.inputs) == "$INPUT_HASH" ]]; then
    log "  $ref: cached"
    return 0
  fi
  ctx=$WORK/context/$(tr '/:' '__' <<<"$ref")
  rm -rf "$ctx" && mkdir -p "$ctx"
  while (($#)) && [[ $1 != -- ]]; do cp "$1" "$ctx/"; shift; done
  (($#)) && shift
  cp "$dockerfile" "$ctx/Dockerfile"
  run_logged "docker build $ref" "$WORK/logs/image-$(basename "$ctx").log" \
    docker build --label "cnigate.inputs=$INPUT_HASH" "$@" -t "$ref" "$ctx"
  rm -rf "$ctx"
}

# build_component_images: every image kubeadm will ask for, as it names them.
build_component_images() {
  local ref name tag images_dir=$NODE_DIR/images
  mapfile -t COMPONENT_IMAGES < <("$KUBE_BIN/kubeadm" config images list --kubernetes-version "$KUBERNETES_VERSION" 2>/dev/null)
  ((${#COMPONENT_IMAGES[@]} > 0)) || die "kubeadm config images list printed nothing"
  for ref in "${COMPONENT_IMAGES[@]}"; do
    name=${ref##*/}
    tag=${name#*:}
    name=${name%%:*}
    case $name in
      kube-apiserver | kube-controller-manager | kube-scheduler)
        build_image "$ref" "$images_dir/static.Dockerfile" "$KUBE_BIN/$name" -- --build-arg "BINARY=$name"
        ;;
      kube-proxy)
        build_image "$ref" "$images_dir/kube-proxy.Dockerfile" "$KUBE_BIN/kube-proxy" "$BUSYBOX_BIN" \
          "$images_dir/iptables-wrapper" -- --build-arg "ROOTFS_IMAGE=$ROOTFS_IMAGE"
        ;;
      etcd)
        [[ $tag == "$ETCD_IMAGE_TAG" ]] || die "kubeadm wants $ref, ci/versions.sh builds etcd $ETCD_IMAGE_TAG"
        # the etcd module's binary is named after its package: name it etcd in the context
        ln -sfn "$ETCD_BIN" "$WORK/etcd"
        build_image "$ref" "$images_dir/static.Dockerfile" "$WORK/etcd" -- --build-arg BINARY=etcd
        ;;
      coredns)
        [[ $tag == "$COREDNS_VERSION" ]] || die "kubeadm wants $ref, ci/versions.sh builds CoreDNS $COREDNS_VERSION"
        build_image "$ref" "$images_dir/coredns.Dockerfile" "$COREDNS_BIN"
        ;;
      pause)
        [[ $tag == "$PAUSE_VERSION" ]] || die "kubeadm wants $ref, ci/versions.sh builds pause $PAUSE_VERSION"
        build_image "$ref" "$images_dir/pause.Dockerfile" "$PAUSE_BIN"
        ;;
      *) die "kubeadm wants $ref, which ci/node-image.sh does not know how to build" ;;
    esac
  done
}

# ---------------------------------------------------------------------------------------------
# node image: what kind's buildcontext.go does, with docker run / cp / exec / commit

BUILD_CONTAINER=""
remove_build_container() {
  # -v: the base image declares no volumes, but be sure no anonymous one is left behind.
  [[ -z $BUILD_CONTAINER ]] || docker rm -f -v "$BUILD_CONTAINER" >/dev/null 2>&1 || true
}

assemble_node_image() {
  local id b ref tar sandbox
  id=cnigate-node-build-$$
  BUILD_CONTAINER=$id
  trap remove_build_container EXIT
  docker run -d --entrypoint=sleep --name="$id" --security-opt seccomp=unconfined "$BASE_IMAGE" infinity >/dev/null

  for b in "${NODE_COMMANDS[@]}"; do
    docker cp "$KUBE_BIN/$b" "$id:/usr/bin/$b"
    docker exec "$id" chmod +x "/usr/bin/$b"
    docker exec "$id" chown root:root "/usr/bin/$b"
  done
  printf '%s' "$KUBERNETES_VERSION" | docker exec -i "$id" cp /dev/stdin /kind/version
  docker exec "$id" mkdir -p /kind/manifests
  docker exec -i "$id" cp /dev/stdin /kind/manifests/default-cni.yaml <"$NODE_DIR/manifests/default-cni.yaml"
  docker exec -i "$id" cp /dev/stdin /kind/manifests/default-storage.yaml <"$NODE_DIR/manifests/default-storage.yaml"

  # kind replaces kubeadm's pause with containerd's sandbox image: they must be the same here.
  sandbox=$(docker exec "$id" sed -n 's/^ *sandbox_image = "\(.*\)"/\1/p' /etc/containerd/config.toml)
  [[ " ${COMPONENT_IMAGES[*]} " == *" $sandbox "* ]] ||
    die "containerd's sandbox_image $sandbox is not among kubeadm's images: ${COMPONENT_IMAGES[*]}"

  # containerd 1.6 has no `ctr info` (kind's readiness check): `ctr version` needs the daemon too.
  docker exec "$id" bash -c 'nohup containerd >/dev/null 2>&1 &'
  docker exec "$id" bash -c 'for _ in $(seq 30); do ctr version >/dev/null 2>&1 && exit 0; sleep 1; done; exit 1' ||
    die "containerd did not start in the build container"
  mkdir -p "$WORK/images"
  for ref in "${COMPONENT_IMAGES[@]}"; do
    tar=$WORK/images/$(tr '/:' '__' <<<"$ref").tar
    docker save "$ref" -o "$tar"
    docker exec -i "$id" ctr --namespace=k8s.io images import --label=io.cri-containerd.pinned=pinned \
      --all-platforms --no-unpack --digests - <"$tar" >/dev/null
    log "  imported $ref ($(du -h "$tar" | cut -f1))"
    rm -f "$tar"
  done
  docker exec "$id" ctr --namespace=k8s.io images list -q | { grep -v -e '^sha256:' -e '^import-' || true; } |
    sed 's/^/    in containerd: /' >&2
  # Stop containerd so its metadata is flushed before the commit. The container's PID 1 is
  # `sleep`, which reaps nobody: an exited containerd stays as a zombie, so wait for state Z.
  docker exec "$id" pkill -x containerd || true
  docker exec "$id" bash -c 'for _ in $(seq 30); do ps -C containerd -o stat= | grep -qv "^Z" || exit 0; sleep 1; done; exit 1' ||
    die "containerd did not stop in the build container"

  docker commit \
    --change 'ENTRYPOINT [ "/usr/local/bin/entrypoint", "/sbin/init" ]' \
    --change 'ENV HTTP_PROXY="" HTTPS_PROXY="" NO_PROXY=""' \
    --change "LABEL cnigate.inputs=$INPUT_HASH cnigate.kubernetes=$KUBERNETES_VERSION" \
    "$id" "$NODE_IMAGE" >/dev/null
  remove_build_container
  BUILD_CONTAINER=""
}

# Remove the base images of earlier input hashes; node images are left to their users.
prune_stale_base_images() {
  local ref
  for ref in $(docker image ls --format '{{.Repository}}:{{.Tag}}' cnigate/node-base); do
    [[ $ref == "$BASE_IMAGE" ]] || docker rmi "$ref" >/dev/null 2>&1 || true
  done
}

# ---------------------------------------------------------------------------------------------

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
  need_cmd jq
  need_cmd docker docker.io
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
  build_go_binaries
  phase "busybox"
  fetch_busybox
  phase "rootfs"
  build_rootfs
  phase "base image"
  build_base_image
  phase "component images"
  build_component_images
  phase "node image"
  assemble_node_image
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
