# shellcheck shell=bash
# Step "base image": ROOTFS_IMAGE + kind's images/base/files (from the kind module the root
# go.mod pins) + ci/node-image/base/overlay + the CNI plugins and crictl, as kind's
# images/base/Dockerfile (ci/node-image/base/Dockerfile). Sets BASE_IMAGE (keyed by INPUT_HASH).

step_base() {
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
  run_with_progress "docker build $BASE_IMAGE" "$WORK/logs/base-image.log" \
    docker build --label "cnigate.inputs=$INPUT_HASH" \
    --build-arg "ROOTFS_IMAGE=$ROOTFS_IMAGE" --build-arg "PAUSE_IMAGE=registry.k8s.io/pause:$PAUSE_VERSION" \
    -t "$BASE_IMAGE" "$ctx"
  rm -rf "$ctx"
}

# prune_stale_base_images: remove the base images of other input hashes (node images are left
# to their users).
prune_stale_base_images() {
  local ref
  for ref in $(docker image ls --format '{{.Repository}}:{{.Tag}}' cnigate/node-base); do
    [[ $ref == "$BASE_IMAGE" ]] || docker rmi "$ref" >/dev/null 2>&1 || true
  done
}
