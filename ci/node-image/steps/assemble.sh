# shellcheck shell=bash
# Step "node image": what kind's pkg/build/nodeimage/buildcontext.go does, with docker run /
# cp / exec / commit: BASE_IMAGE + kubeadm/kubelet/kubectl + /kind/version and manifests +
# every COMPONENT_IMAGES imported into the node's containerd, committed as NODE_IMAGE.

BUILD_CONTAINER=""
remove_build_container() {
  # -v: the base image declares no volumes, but be sure no anonymous one is left behind.
  [[ -z $BUILD_CONTAINER ]] || docker rm -f -v "$BUILD_CONTAINER" >/dev/null 2>&1 || true
  BUILD_CONTAINER=""
}

step_assemble() {
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
}
