#!/usr/bin/env bash
# ci/k8s-conformance.sh: what the optional upstream Kubernetes conformance stage
# (`cnigate e2e --k8s-conformance`, `make e2e K8S_CONFORMANCE=1`) runs with, built here from the
# pinned k8s.io/kubernetes (KUBERNETES_VERSION, ci/versions.sh) with no registry:
#
#   ci/k8s-conformance.sh [build]      e2e.test and the e2e test images it needs; cached under
#                                      $OUTPUT_DIR/k8s-conformance, keyed by their inputs. The
#                                      LAST line of stdout is the e2e.test path.
#   ci/k8s-conformance.sh binaries     only e2e.test (and agnhost, ginkgo): no docker needed
#   ci/k8s-conformance.sh images       print the image references (one a line) build tags
#   ci/k8s-conformance.sh sync-module  regenerate ci/k8s-conformance/e2e-test/go.mod,go.sum from
#                                      ci/versions.sh and the replace lines of
#                                      ci/node-image/kubernetes/go.mod (after changing a version)
#
# e2e.test comes from the wrapper module ci/k8s-conformance/e2e-test: upstream's TestMain with
# only the suites that hold [sig-network] specs (docs/e2e.md, "Upstream Kubernetes conformance").
set -o errexit -o nounset -o pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
source "$REPO_ROOT/ci/lib.sh"
# shellcheck source=SCRIPTDIR/versions.sh
source "$REPO_ROOT/ci/versions.sh"
# The node image's helpers, reused as they are: hash_files, image_exists/image_label, the
# Debian rootfs step (debootstrap, cached as an image per package list) and kube_ldflags.
# shellcheck source=SCRIPTDIR/node-image/lib.sh
source "$REPO_ROOT/ci/node-image/lib.sh"
# shellcheck source=SCRIPTDIR/node-image/steps/rootfs.sh
source "$REPO_ROOT/ci/node-image/steps/rootfs.sh"
# shellcheck source=SCRIPTDIR/node-image/steps/go-binaries.sh
source "$REPO_ROOT/ci/node-image/steps/go-binaries.sh"

MOD_DIR=$REPO_ROOT/ci/k8s-conformance/e2e-test
KUBE_MOD=$REPO_ROOT/ci/node-image/kubernetes/go.mod
WORK=$OUTPUT_DIR/k8s-conformance # (after node-image/lib.sh, which sets its own)
BIN=$WORK/bin                   # e2e.test, agnhost, ginkgo of the current inputs
# The Debian packages of the test images' rootfs (agnhost, jessie-dnsutils): what the specs
# exec in those pods (curl, nc, dig/nslookup, wget, ip).
TEST_IMAGE_PACKAGES=(bash curl netcat-openbsd bind9-dnsutils wget iproute2 ca-certificates procps)
# Built from the wrapper module besides e2e.test: agnhost (the e2e test images' server and
# client, test/images/agnhost) and the ginkgo CLI (runs e2e.test's specs on parallel processes).
TOOLS=(k8s.io/kubernetes/test/images/agnhost github.com/onsi/ginkgo/v2/ginkgo)

# sync_module: the wrapper's go.mod takes the language version, GODEBUG and the staging
# replace lines from the node image's kubernetes module (itself generated from the upstream
# go.mod by ci/node-image.sh sync-modules): one source for both.
sync_module() {
  ensure_commands jq=jq
  local go_line godebug
  log "sync e2e-test: k8s.io/kubernetes@$KUBERNETES_VERSION"
  go_line=$(go mod edit -json "$KUBE_MOD" | jq -r .Go)
  godebug=$(go mod edit -json "$KUBE_MOD" | jq -r '.GoDebug[]? | "godebug \(.Key)=\(.Value)"')
  write_wrapper_gomod "$MOD_DIR/go.mod" "ci/k8s-conformance.sh sync-module from ci/versions.sh" \
    "Builds e2e.test (the [sig-network] suites) from k8s.io/kubernetes $KUBERNETES_VERSION." \
    github.com/cnigate/cnigate/ci/k8s-conformance/e2e-test "$go_line" "$godebug" \
    "$(go mod edit -json "$KUBE_MOD" | jq -r '.Replace[] | "\t\(.Old.Path) => \(.New.Path) \(.New.Version)"')" "${TOOLS[@]}"
  rm -f "$MOD_DIR/go.sum"
  (cd "$MOD_DIR" && go get "k8s.io/kubernetes@$KUBERNETES_VERSION" && go mod tidy) >&2
  check_module
  log "done; review and commit: git diff --stat -- ci/k8s-conformance"
}

# required MODFILE PATH: the version of PATH that MODFILE requires ("none" if none).
required() {
  go mod edit -json "$1" | jq -r --arg p "$2" '[.Require[]? | select(.Path == $p) | .Version][0] // "none"'
}

# check_module: the wrapper requires exactly the Kubernetes ci/versions.sh pins, and a ginkgo
# no newer than cnigate's: cnigate reads e2e.test's Ginkgo JSON report with its own ginkgo's
# types, refusing unknown fields (results.DecodeConformance), which holds for an older writer.
check_module() {
  local have ginkgo_e2e ginkgo_ours
  have=$(required "$MOD_DIR/go.mod" k8s.io/kubernetes)
  [[ $have == "$KUBERNETES_VERSION" ]] ||
    die "ci/k8s-conformance/e2e-test/go.mod has k8s.io/kubernetes $have, ci/versions.sh says $KUBERNETES_VERSION: run ci/k8s-conformance.sh sync-module"
  ginkgo_e2e=$(required "$MOD_DIR/go.mod" github.com/onsi/ginkgo/v2)
  ginkgo_ours=$(required "$REPO_ROOT/go.mod" github.com/onsi/ginkgo/v2)
  [[ $(printf '%s\n' "$ginkgo_e2e" "$ginkgo_ours" | sort -V | tail -n 1) == "$ginkgo_ours" ]] ||
    die "e2e.test's ginkgo $ginkgo_e2e is newer than cnigate's $ginkgo_ours (go.mod): cnigate could not read its report; raise go.mod's ginkgo first"
}

_compiling() { echo "compiling"; }

# build_binaries: e2e.test (go test -c of the wrapper), agnhost and ginkgo into $BIN, unless
# $BIN/.key says they were built from these inputs (module, Go, ldflags).
build_binaries() {
  local key ldflags
  ldflags=$(kube_ldflags)
  key=$(printf '%s\n' "$(hash_files ci/k8s-conformance/e2e-test)" "$GO_VERSION/$GO_ARCH" "$ldflags" | sha256sum | cut -c1-10)
  if [[ -f $BIN/.key && $(<"$BIN/.key") == "$key" ]]; then
    log "e2e.test, agnhost, ginkgo: cached ($BIN, inputs $key)"
    return 0
  fi
  rm -rf "$BIN" && mkdir -p "$BIN" "$WORK/logs"
  _go_name=e2e.test _go_linked=" " GO_OUT=$BIN # go-binaries.sh's progress probes
  # (go test -c names no package while it compiles: the progress lines give the time only)
  run_with_progress --every 30 --status _compiling --watch _go_report_linked "go test -c (e2e.test)" \
    "$WORK/logs/go-e2e.test.log" env CGO_ENABLED=0 go test -C "$MOD_DIR" -c -vet=off -trimpath \
    -ldflags "$ldflags" -o "$BIN/e2e.test" .
  _go_name=tools
  run_with_progress --every 30 --status _go_packages --watch _go_report_linked "go build (agnhost, ginkgo)" \
    "$WORK/logs/go-tools.log" env CGO_ENABLED=0 go build -C "$MOD_DIR" -v -trimpath \
    -ldflags "$ldflags" -o "$BIN/" "${TOOLS[@]}"
  echo "$key" >"$BIN/.key"
}

# build_test_images: each image e2e.test names (-cnigate-images), tagged exactly so, unless it
# carries this input hash (label io.cnigate.commit, ci/lib.sh build_image).
build_test_images() {
  local name ref base key ctx
  local -a NODE_PACKAGES=("${TEST_IMAGE_PACKAGES[@]}") # step_rootfs's package list (dynamic scope)
  step_rootfs                                          # sets ROOTFS_IMAGE
  fetch_busybox "$OUTPUT_DIR/busybox" # ci/lib.sh: the one download, shared with the other images
  key=$(printf '%s\n' "$ROOTFS_IMAGE" "$BUSYBOX_VERSION" "$(<"$BIN/.key")" "$(hash_files ci/k8s-conformance/images)" | sha256sum | cut -c1-10)
  declare -A refs=()
  while read -r name ref; do refs[$name]=$ref; done < <("$BIN/e2e.test" -cnigate-images)
  for name in agnhost jessie-dnsutils nginx busybox; do # (nginx is built FROM agnhost)
    ref=${refs[$name]:-}
    [[ -n $ref ]] || die "e2e.test -cnigate-images names no $name image"
    if [[ $(image_label "$ref" io.cnigate.commit) == "$key" ]]; then
      log "image $ref: cached"
      continue
    fi
    ctx=$WORK/images/$name
    rm -rf "$ctx" && mkdir -p "$ctx"
    case $name in
      agnhost | jessie-dnsutils) base=$ROOTFS_IMAGE ;;
      nginx) base=${refs[agnhost]} ;;
      busybox) base=scratch ;;
    esac
    { echo "FROM $base"; cat "$REPO_ROOT/ci/k8s-conformance/images/$name.Dockerfile"; } >"$ctx/Dockerfile"
    case $name in
      agnhost) cp "$BIN/agnhost" "$KUBE_SRC"/test/images/agnhost/porter/localhost.{crt,key} "$ctx/" ;;
      busybox) cp "$BUSYBOX_BIN" "$ctx/busybox" ;;
    esac
    build_image load "$ref" "$ctx" "" "$KUBERNETES_VERSION" "$key"
  done
  printf '%s\n' "${refs[@]}" >"$WORK/images.txt"
}

MODE=${1:-build}
case $MODE in
  build | binaries)
    ensure_commands jq=jq
    load_versions
    check_module
    phase "e2e.test"
    build_binaries
    if [[ $MODE == build ]]; then
      phase "e2e test images"
      "$REPO_ROOT/ci/ensure-docker.sh"
      KUBE_SRC=$(go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | jq -r .Dir)
      build_test_images
    fi
    phase_summary
    echo "$BIN/e2e.test"
    ;;
  images)
    [[ -x $BIN/e2e.test ]] || die "$BIN/e2e.test is missing: ci/k8s-conformance.sh build"
    "$BIN/e2e.test" -cnigate-images | cut -d' ' -f2
    ;;
  sync-module) sync_module ;;
  *) die "usage: ci/k8s-conformance.sh [build|binaries|images|sync-module]" ;;
esac
