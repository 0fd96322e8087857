# shellcheck shell=bash disable=SC2034 # variables used by the steps that source this
# ci/node-image/lib.sh: what the steps of ci/node-image.sh share: paths, the wrapper-module
# table, versions and the input hash. Sourced by ci/node-image.sh after ci/lib.sh and
# ci/versions.sh; everything it prints goes to stderr.

NODE_DIR=$REPO_ROOT/ci/node-image
WORK=$OUTPUT_DIR/node-image
NODE_REPO=cnigate/node

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

# root_module_version PATH: the version the root go.mod pins for PATH.
root_module_version() { (cd "$REPO_ROOT" && go list -m -f '{{.Version}}' "$1"); }

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }
image_label() { docker image inspect --format "{{index .Config.Labels \"$2\"}}" "$1" 2>/dev/null; }

# hash_files FILE...: short content hash of files (paths relative to REPO_ROOT included).
hash_files() {
  (cd "$REPO_ROOT" && find "$@" -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) |
    sha256sum | cut -c1-10
}

# load_versions: the versions pinned outside ci/versions.sh (root go.mod, the Go toolchain).
load_versions() {
  KIND_VERSION=$(root_module_version sigs.k8s.io/kind)
  CNI_PLUGINS_VERSION=$(root_module_version github.com/containernetworking/plugins)
  GO_VERSION=$(go env GOVERSION)
  GO_ARCH=$(go env GOARCH)
  ETCD_IMAGE_TAG=${ETCD_VERSION#v}-$ETCD_IMAGE_REVISION
}

# input_hash: what the image depends on besides the cached Go binaries and rootfs: the
# kind/CNI/Go versions, ci/versions.sh, this tree (steps, Dockerfiles, modules), the entry point
# and the busybox fetch of ci/lib.sh.
input_hash() {
  {
    printf '%s\n' "kind=$KIND_VERSION" "cni=$CNI_PLUGINS_VERSION" "go=$GO_VERSION/$GO_ARCH"
    hash_files ci/node-image ci/versions.sh ci/node-image.sh
    declare -f fetch_busybox
  } | sha256sum | cut -c1-10
}

local_ref() { echo "$NODE_REPO:$KUBERNETES_VERSION-$(input_hash)"; }
