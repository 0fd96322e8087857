# shellcheck shell=bash
# Step "component images": every image `kubeadm config images list` names for
# KUBERNETES_VERSION, tagged as kubeadm names it, from the Go binaries (FROM scratch where
# possible; kube-proxy also gets iptables from the rootfs and Debian's static busybox). Sets
# COMPONENT_IMAGES. Each image carries the input hash as a label and is rebuilt when it differs.

step_images() {
  local ref name tag images_dir=$NODE_DIR/images
  fetch_busybox
  log "  busybox: busybox-static $BUSYBOX_VERSION"
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
  run_with_progress "docker build $ref" "$WORK/logs/image-$(basename "$ctx").log" \
    docker build --label "cnigate.inputs=$INPUT_HASH" "$@" -t "$ref" "$ctx"
  rm -rf "$ctx"
}
