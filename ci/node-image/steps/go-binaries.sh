# shellcheck shell=bash
# Step "go binaries": every program of the node image, built from the Go module proxy, each
# cached in $WORK/gobin/<name>-<key> (key: its version, module contents, ldflags, Go version).
# Sets KUBE_BIN (dir), ETCD_BIN, COREDNS_BIN, CRICTL_BIN, PAUSE_BIN, CNI_BIN (dir).

# go_build_cached NAME DIR KEY... -- GO BUILD ARGS: `go build -C DIR -o OUT/ ARGS`, unless OUT
# (named by NAME and a hash of the KEYs and the Go version) is already complete; sets GO_OUT.
go_build_cached() {
  local name=$1 dir=$2 key
  shift 2
  local -a key_parts=()
  while [[ $1 != -- ]]; do key_parts+=("$1"); shift; done
  shift
  key=$(printf '%s\n' "${key_parts[@]}" "$GO_VERSION/$GO_ARCH" | sha256sum | cut -c1-10)
  GO_OUT=$WORK/gobin/$name-$key
  if [[ -f $GO_OUT/.complete ]]; then
    log "  $name: cached ($GO_OUT)"
  else
    rm -rf "$GO_OUT" && mkdir -p "$GO_OUT"
    _go_name=$name _go_linked=" "
    run_with_progress --every 30 --status _go_packages --watch _go_report_linked "go build $name" \
      "$WORK/logs/go-$name.log" env CGO_ENABLED=0 go build -C "$dir" -v -trimpath -o "$GO_OUT/" "$@"
    touch "$GO_OUT/.complete"
  fi
  # drop NAME's builds for other keys (the caller holds the lock)
  find "$WORK/gobin" -mindepth 1 -maxdepth 1 -name "$name-*" ! -path "$GO_OUT" -exec rm -rf {} +
}

# progress probes for run_with_progress: binaries as they are linked, packages compiled so far
_go_report_linked() {
  local bin
  for bin in "$GO_OUT"/*; do
    [[ -f $bin && $_go_linked != *" ${bin##*/} "* ]] || continue
    _go_linked+="${bin##*/} "
    log "  $_go_name: ${bin##*/} linked after $1s"
  done
}
_go_packages() { echo "compiling, $(grep -c . "$WORK/logs/go-$_go_name.log") packages so far"; }

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

step_go_binaries() {
  local name ldflags bin
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
  # host-local + portmap for CNI=bridge) or may (bandwidth). Built from the
  # containernetworking/plugins version the root go.mod pins (they are `tool`s there).
  ldflags="-s -w -X github.com/containernetworking/plugins/pkg/utils/buildversion.BuildVersion=$CNI_PLUGINS_VERSION"
  go_build_cached cni-plugins "$REPO_ROOT" "$CNI_PLUGINS_VERSION" "$ldflags" "${CNI_REFERENCE_PLUGINS[*]}" -- -ldflags "$ldflags" \
    "${CNI_REFERENCE_PLUGINS[@]/#/github.com/containernetworking/plugins/plugins/}"
  CNI_BIN=$GO_OUT

  for bin in "$ETCD_BIN" "$COREDNS_BIN" "$CRICTL_BIN" "$PAUSE_BIN" "${CNI_REFERENCE_PLUGINS[@]/#*\//$CNI_BIN/}"; do
    [[ -x $bin ]] || die "expected binary missing: $bin"
  done
}
