#!/usr/bin/env bash
# ci/e2e.sh: podnet's end-to-end run on kind (make e2e / make cluster / make e2e-clean).
#
#   ci/e2e.sh [e2e]   build what is needed and run the contract matrix (e2e/matrix, the same
#                     code as `cnigate e2e`): it creates a kind cluster through kind's Go
#                     library, loads the CNI, runs the matrix, destroys the cluster. Artifacts in _artifacts/
#                     (_artifacts/e2e-<CNI>/ for a CNI other than podnet):
#                     matrix.json, e2e-<CNI>.{junit.xml,report.json,md,html}, junit-e2e.xml,
#                     go-test.json, e2e.log, kind-config.yaml, phases-e2e.tsv, kind-logs/ (on failure).
#                     With GATE_KUBECONFIG set (`make e2e KUBECONFIG=<file>`): existing-cluster mode, no cluster is created and nothing is
#                     installed; the same matrix runs against that cluster (podnet must be on it).
#   ci/e2e.sh cluster a kind cluster with podnet loaded, left running (kubeconfig in _output/).
#   ci/e2e.sh scale   the matrix's growth with the workers: `make e2e WORKERS=N` for each N of
#                     E2E_SCALE_WORKERS (2 4 8), one after another, each into _artifacts/scale/wN/,
#                     then a table (cnigate report e2e-scale) printed and written to
#                     _artifacts/scale/growth.md. Exits 1 when a run failed (the table shows it).
#   ci/e2e.sh clean   delete the e2e clusters, the external-host containers and hermetic rules.
#   ci/e2e.sh image-save  build the test image and write it as a tarball ($E2E_IMAGE_TAR), for
#                     mirroring into a registry an existing cluster can pull from.
#
#   ci/e2e.sh e2e|cluster ARGS...  ARGS go to the suite as they are (-e2e.<flag>=..., cnigate e2e -h).
#
# Environment (all optional). Each E2E_<NAME> below that names a suite flag (-e2e.<name>, "_" as
# "-") reaches it through the environment (matrix.FlagsFromEnv), any other flag's too:
#   CNI=podnet                the CNI the harness installs on kind, a name of the e2e's CNI table
#                             (e2e/harness/cni/cni.go; `bin/cnigate cnis` prints it): podnet (its image
#                             and manifest) or bridge (upstream bridge + host-local + portmap, hairpin on)
#   WORKERS=2                 kind workers (the matrix grows with it)
#   E2E_PARALLEL=             how many cells run at once (go test -parallel); default (the
#                             suite's, matrix.DefaultParallel) 2 per matrix worker, at least 4
#   ARTIFACTS=_artifacts      where the run's artifacts go
#   IP_FAMILY=ipv4            kind cluster's family: ipv4, ipv6 (IPv6 only: pod subnet
#                             fd00:10:244::/56, podnet with network6/subnet6 only) or dual (IPv4 +
#                             IPv6 pod subnets); the matrix runs once per family, cells named
#                             http/ipv6:... (ipv6 and dual); artifacts in _artifacts[/e2e-<CNI>][/<family>]/ (no
#                             family directory for ipv4, none for podnet)
#   GATE_KUBECONFIG=<file>    existing-cluster mode (e2e only); `make e2e KUBECONFIG=<file>` sets it
#   NODE_IMAGE=<ref>          use this node image instead of building it with ci/node-image.sh
#   E2E_CLUSTER=cnigate-e2e   cluster name of `e2e`;  CLUSTER_NAME=cnigate  name of `cluster`
#   E2E_TIMEOUT=40m           go test -timeout
#   E2E_CELL_TIMEOUT=45s      how long one matrix cell retries before it fails
#   E2E_CHURN_ROUNDS=3        delete/recreate rounds
#   E2E_REQUIRE=              behaviours that must run (cnigate e2e --require): runnable, all, none or regexps
#   E2E_IMAGE=cnigate/e2e-busybox:1.35, E2E_IMAGE_PULL_POLICY=  test image (existing cluster on a
#                             non-kind cluster: a pullable copy of ci/images/busybox + IfNotPresent)
#   E2E_EXTERNAL_NETWORK=kind docker network of the external host (NAT cells)
#   E2E_GO_TEST_ARGS=...      extra go test args (e.g. -run TestE2E/Connectivity: one group of e2e/matrix/table.go)
#   E2E_MTU=1500              the pod network's MTU (the MTU cells send packets of exactly this size)
#   E2E_BREAK=portmap|hairpin|mtu|coredns|agent-routes|lossy-node   break one thing on purpose (kind mode
#                             only) to see which cells catch it (docs/e2e.md: "Proof that it bites");
#                             agent-routes: podnet's agent routes nothing, the harness adds the routes
#                             once by hand (the tutorial's way): the healing cells fail
#   E2E_AGENT_KILLS=20        how many times the healing cells SIGKILL podnet's agent
#   AGENT_IMAGE=<ref>         podnet's image for CNI=podnet (default: built by ci/image.sh, make image)
#   E2E_IMAGE_TAR=_output/e2e-image.tar     where image-save writes the test image
#   K8S_CONFORMANCE=1         after the matrix, the upstream Kubernetes [sig-network] [Conformance]
#                             specs on the same cluster (cnigate e2e --k8s-conformance): builds e2e.test
#                             and the e2e test images first (ci/k8s-conformance.sh, cached), E2E_TIMEOUT
#                             default 75m; JUnit etc. in <artifacts>/k8s-conformance/ (docs/e2e.md)
#   E2E_HERMETIC=1            while a cluster created here exists, the host drops forwarded traffic
#                             from the kind docker network to any other interface (a DOCKER-USER
#                             rule, e2e/harness/host/hermetic.go); 0 turns it off. Never on an existing cluster.
set -o errexit -o nounset -o pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
source "$REPO_ROOT/ci/lib.sh"

MODE=${1:-e2e}
shift || true
EXTRA_ARGS=("$@")
WORKERS=${WORKERS:-2}
IP_FAMILY_GIVEN=${IP_FAMILY:-} # existing cluster: the passes to run; empty: every family it serves
IP_FAMILY=${IP_FAMILY:-ipv4}
E2E_CLUSTER=${E2E_CLUSTER:-cnigate-e2e}
CLUSTER_NAME=${CLUSTER_NAME:-cnigate}
K8S_CONFORMANCE=${K8S_CONFORMANCE:-${E2E_K8S_CONFORMANCE:-}}
case $K8S_CONFORMANCE in "" | 0 | false) K8S_CONFORMANCE="" ;; 1 | true) ;; *) die "K8S_CONFORMANCE must be 1 or 0, not '$K8S_CONFORMANCE'" ;; esac
unset E2E_K8S_CONFORMANCE # the script passes the flag itself, after building what it needs
E2E_TIMEOUT=${E2E_TIMEOUT:-$([[ -n $K8S_CONFORMANCE ]] && echo 75m || echo 40m)}
# The suite's own E2E_* variables (E2E_CELL_TIMEOUT, E2E_AGENT_KILLS, ...) pass through the
# environment as they are (matrix.FlagsFromEnv); the script reads only these two itself.
export E2E_IMAGE=${E2E_IMAGE:-cnigate/e2e-busybox:1.35} # built here (test image)
E2E_BREAK=${E2E_BREAK:-}
CNI=${CNI:-podnet}
E2E_IMAGE_TAR=${E2E_IMAGE_TAR:-$OUTPUT_DIR/e2e-image.tar}
ARTIFACTS=$(realpath -m "${ARTIFACTS:-$REPO_ROOT/_artifacts}") # absolute: go test runs in the package directory
E2E_PARALLEL=${E2E_PARALLEL:-}
E2E_SCALE_WORKERS=${E2E_SCALE_WORKERS:-2 4 8}
KIND=$OUTPUT_DIR/bin/kind
export DOCKER_BUILDKIT=0 # the legacy builder: no BuildKit on this machine

# Gate mode: GATE_KUBECONFIG (make sets it from `make e2e KUBECONFIG=<file>` only). An
# exported KUBECONFIG is ignored and unset, so kind never writes into the user's file.
GATE=""
if [[ $MODE == e2e && -n ${GATE_KUBECONFIG:-} ]]; then
  GATE=$(realpath "$GATE_KUBECONFIG")
  [[ -f $GATE ]] || die "KUBECONFIG=$GATE_KUBECONFIG: no such file"
fi
unset KUBECONFIG

case $MODE in
  e2e) CLUSTER=$E2E_CLUSTER ;;
  cluster) CLUSTER=$CLUSTER_NAME ;;
  clean | image-save | scale) CLUSTER="" ;;
  *) die "usage: ci/e2e.sh [e2e|cluster|clean|image-save|scale]" ;;
esac
# How CNI is installed (the e2e's CNI table, e2e/harness/cni/cni.go; it names the CNIs there are).
CNI_INSTALL=""
if [[ $MODE == e2e || $MODE == cluster ]]; then
  [[ -x $REPO_ROOT/bin/cnigate ]] || die "bin/cnigate is missing: make $MODE builds it"
  CNI_INSTALL=$("$REPO_ROOT/bin/cnigate" cnis --install "$CNI") || die "CNI=$CNI: not in the CNI table (bin/cnigate cnis lists it)"
fi
[[ -z $E2E_PARALLEL || $E2E_PARALLEL =~ ^[1-9][0-9]*$ ]] || die "E2E_PARALLEL must be a positive number, not '$E2E_PARALLEL'"
[[ -z $GATE || -z $E2E_BREAK ]] || die "E2E_BREAK breaks clusters the harness creates, never an existing cluster"

# The pinned kind (go.mod `tool`): this script's clean-up and existing-cluster image loading (the suite
# itself drives kind through its Go library, e2e/cluster).
build_kind() {
  (cd "$REPO_ROOT" && go build -o "$KIND" sigs.k8s.io/kind)
  export PATH=$OUTPUT_DIR/bin:$PATH
}

cluster_exists() { [[ -x $KIND ]] && "$KIND" get clusters 2>/dev/null | grep -qx -- "$1"; }

delete_cluster() {
  if cluster_exists "$1"; then
    log "deleting kind cluster $1"
    "$KIND" delete cluster --name "$1" >&2
  fi
}

# remove_external_hosts [CLUSTER]: the external-host container of CLUSTER (<cluster>-external,
# e2e/matrix), or every one when empty (make e2e-clean): a run never removes another cluster's.
remove_external_hosts() {
  command -v docker >/dev/null && docker info >/dev/null 2>&1 || return 0
  local ids filter=(--filter label=io.cnigate.e2e=external)
  if [[ -n ${1:-} ]]; then filter+=(--filter "name=^$1-external\$"); fi
  ids=$(docker ps -aq "${filter[@]}")
  if [[ -n $ids ]]; then
    log "removing external-host containers: $(echo "$ids" | tr '\n' ' ')"
    # shellcheck disable=SC2086 # one id per word
    docker rm -f -v $ids >/dev/null
  fi
}

# Debian's static busybox in a FROM-scratch image (ci/images/busybox).
build_test_image() {
  local ctx=$OUTPUT_DIR/images/busybox-ctx
  fetch_busybox "$OUTPUT_DIR/busybox" # ci/lib.sh: the one download, shared with the node image
  rm -rf "$ctx" && mkdir -p "$ctx"
  cp "$BUSYBOX_BIN" "$ctx/busybox"
  cp -r "$REPO_ROOT/ci/images/busybox/Dockerfile" "$REPO_ROOT/ci/images/busybox/rootfs" "$ctx/"
  (cd "$REPO_ROOT" && CGO_ENABLED=0 go build -trimpath -ldflags=-s -o "$ctx/probe" ./e2e/probe)
  # the legacy builder warns on stderr that it is deprecated: show its output only on failure
  docker build -q -t "$E2E_IMAGE" "$ctx" >"$ctx.log" 2>&1 || { cat "$ctx.log" >&2; die "docker build $E2E_IMAGE failed"; }
  log "test image $E2E_IMAGE ($(docker image inspect --format '{{.Size}}' "$E2E_IMAGE") bytes)"
}

# The upstream reference CNI plugins (ci/versions.sh's list, the root go.mod's version), for
# every node, replacing the image's own: the reference is the pinned one (kind's published image
# has other versions and no bridge).
build_reference_plugins() {
  # shellcheck source=SCRIPTDIR/versions.sh
  source "$REPO_ROOT/ci/versions.sh"
  REF_PLUGINS=$OUTPUT_DIR/cni-plugins
  mkdir -p "$REF_PLUGINS"
  (cd "$REPO_ROOT" && CGO_ENABLED=0 go build -trimpath -ldflags=-s -o "$REF_PLUGINS/" \
    "${CNI_REFERENCE_PLUGINS[@]/#/github.com/containernetworking/plugins/plugins/}")
}

node_image() {
  if [[ -n ${NODE_IMAGE:-} ]]; then
    echo "$NODE_IMAGE"
    return
  fi
  [[ -x $REPO_ROOT/ci/node-image.sh ]] || die "ci/node-image.sh is missing: set NODE_IMAGE=<ref> or wait for it to land"
  "$REPO_ROOT/ci/node-image.sh" | tail -n 1
}

# remove_hermetic [CLUSTER]: delete the hermetic rules of CLUSTER (every cluster's when empty)
# with `cnigate hermetic-clean`, the harness's own code (e2e/harness/host/hermetic.go). The suite
# removes its own rule; this catches what a killed run or a `make cluster` cluster leaves.
remove_hermetic() {
  if [[ ! -x $REPO_ROOT/bin/cnigate ]]; then
    log "ERROR: bin/cnigate is missing (make cnigate): no hermetic rule removed"
    return 1
  fi
  "$REPO_ROOT/bin/cnigate" hermetic-clean --cluster "${1:-}" | while read -r line; do log "$line"; done
}

clean() {
  build_kind
  delete_cluster "$E2E_CLUSTER"
  delete_cluster "$CLUSTER_NAME"
  remove_external_hosts ""
  remove_hermetic ""
}

# scale: one real `make e2e WORKERS=N` per size, one after another, then the growth table.
scale() {
  local n dir rc=0 dirs=() out=$ARTIFACTS/scale
  rm -rf "$out" && mkdir -p "$out"
  for n in $E2E_SCALE_WORKERS; do
    log "=== e2e-scale: make e2e WORKERS=$n (load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores)"
    echo "WORKERS=$n started $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/load.txt"
    make -C "$REPO_ROOT" --no-print-directory e2e WORKERS="$n" ARTIFACTS="$out/w$n" || rc=1
    dir=$(run_dir "$out/w$n")
    # a run whose setup failed writes matrix.json too, but never reaches the matrix phase
    if grep -qs '^matrix (tests)'$'\t' "$dir/phases-e2e.tsv"; then
      dirs+=("$dir")
    else
      log "WORKERS=$n never reached its matrix: not in the table"
    fi
  done
  ((${#dirs[@]} > 0)) || die "no run reached its matrix"
  "$REPO_ROOT/bin/cnigate" report e2e-scale "${dirs[@]}" | tee "$out/growth.md"
  log "growth table: $out/growth.md (start times and load: $out/load.txt)"
  return "$rc"
}

# Ctrl-C / failure: go test's own Finish destroys its cluster, but not after a -timeout panic or a
# kill; remove what is left. `make cluster` keeps its cluster on success.
# shellcheck disable=SC2317 # invoked by the trap
on_exit() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -z $GATE && $MODE == e2e ]]; then
    delete_cluster "$E2E_CLUSTER" || true
    remove_external_hosts "$E2E_CLUSTER" || true
    remove_hermetic "$E2E_CLUSTER" || true
  fi
  if [[ $MODE != clean && $MODE != scale ]]; then
    phase_summary
    if [[ -s $ARTIFACTS_RUN/phases-e2e.tsv ]]; then
      log "phase timings inside go test:"
      awk -F'\t' '{ printf "  %-32s %5.1fs\n", $1, $2 }' "$ARTIFACTS_RUN/phases-e2e.tsv" >&2
    fi
  fi
  exit "$rc"
}
# run_dir BASE: where a kind run with this CNI and IP_FAMILY writes under BASE, so that runs of
# several CNIs and families (.ci/run runs them one after another) keep each other's reports.
run_dir() {
  local d=$1
  if [[ $CNI != podnet ]]; then d+=/e2e-$CNI; fi
  if [[ $IP_FAMILY != ipv4 ]]; then d+=/$IP_FAMILY; fi
  echo "$d"
}
ARTIFACTS_RUN=$ARTIFACTS
if [[ -z $GATE ]]; then ARTIFACTS_RUN=$(run_dir "$ARTIFACTS"); fi
[[ $MODE == cluster ]] && ARTIFACTS_RUN=$OUTPUT_DIR/cluster
trap on_exit EXIT
trap 'exit 130' INT TERM

if [[ $MODE == clean ]]; then
  clean
  exit 0
fi
if [[ $MODE == scale ]]; then
  [[ -z ${GATE_KUBECONFIG:-} ]] || die "e2e-scale creates its clusters: no KUBECONFIG"
  [[ -x $REPO_ROOT/bin/cnigate ]] || die "bin/cnigate is missing: make e2e-scale builds it"
  trap - EXIT
  scale
  exit $?
fi
if [[ $MODE == image-save ]]; then
  "$REPO_ROOT/ci/ensure-docker.sh"
  build_test_image
  mkdir -p "$(dirname "$E2E_IMAGE_TAR")"
  docker save -o "$E2E_IMAGE_TAR" "$E2E_IMAGE"
  log "wrote $E2E_IMAGE_TAR ($(du -h "$E2E_IMAGE_TAR" | cut -f1)); load it into your registry, e.g."
  log "  docker load -i $E2E_IMAGE_TAR && docker tag $E2E_IMAGE <registry>/e2e-busybox:1.35 && docker push <registry>/e2e-busybox:1.35"
  trap - EXIT
  exit 0
fi

mkdir -p "$ARTIFACTS_RUN" "$OUTPUT_DIR/bin"
rm -f "$ARTIFACTS_RUN"/{matrix.json,junit-e2e.xml,go-test.json,e2e.log,phases-e2e.tsv,kubeconfig}
rm -rf "$ARTIFACTS_RUN/kind-logs" "$ARTIFACTS_RUN/k8s-conformance"

phase "tools (kind, docker)"
build_kind
DOCKER=""
if [[ -z $GATE ]]; then
  "$REPO_ROOT/ci/ensure-docker.sh"
  DOCKER=1
elif command -v docker >/dev/null && docker info >/dev/null 2>&1; then
  DOCKER=1
fi

# What the script decides; every other suite option comes from its E2E_* variable (above), and
# arguments after the mode (ci/e2e.sh e2e -e2e.churn-rounds=5) are appended as they are.
args=(-e2e.run -e2e.workers="$WORKERS" -e2e.ip-family="$IP_FAMILY" -e2e.report-dir="$ARTIFACTS_RUN" -e2e.report-name="e2e-$CNI"
  -e2e.cnigate-version="$(git -C "$REPO_ROOT" describe --always --dirty 2>/dev/null || echo unknown)")

if [[ -z $GATE ]]; then
  phase "node image"
  ref=$(node_image)
  [[ -n $ref ]] || die "no node image ref"
  docker image inspect "$ref" >/dev/null || die "node image $ref is not in docker"
  log "node image: $ref"
  args+=(-e2e.cluster="$CLUSTER" -e2e.node-image="$ref")

  [[ -x $REPO_ROOT/bin/cnigate ]] || die "bin/cnigate is missing: make e2e builds it (it removes the hermetic rules at the end)"
  log "CNI: $CNI${E2E_BREAK:+ (E2E_BREAK=$E2E_BREAK)}, $WORKERS workers, cells ${E2E_PARALLEL:-2 per worker, at least 4,} at a time"
  args+=(-e2e.cni="$CNI")
  if [[ $CNI_INSTALL == manifest ]]; then
    # podnet is deployed the way users deploy it: its image and manifest (deploy/)
    phase "podnet image"
    if [[ -z ${AGENT_IMAGE:-} ]]; then AGENT_IMAGE=$("$REPO_ROOT/ci/image.sh" build | tail -n 1); fi
    docker image inspect "$AGENT_IMAGE" >/dev/null || die "podnet image $AGENT_IMAGE is not in docker"
    log "podnet image: $AGENT_IMAGE"
    args+=(-e2e.agent-image="$AGENT_IMAGE")
  else
    build_reference_plugins
    args+=(-e2e.cni-bin="$REF_PLUGINS")
  fi

  if [[ $MODE == e2e ]]; then
    delete_cluster "$E2E_CLUSTER" # a leftover of an interrupted run
  elif cluster_exists "$CLUSTER"; then
    log "kind cluster $CLUSTER is already running (make e2e-clean removes it)"
  fi
else
  log "existing-cluster mode: KUBECONFIG=$GATE (no cluster is created, nothing installed, the host untouched: the CNI must already run on the nodes)"
  args+=(-e2e.kubeconfig="$GATE" -e2e.ip-family="$IP_FAMILY_GIVEN")
fi

phase "test image"
if [[ -n $DOCKER ]]; then
  build_test_image
  if [[ -n $GATE ]]; then
    ctx=$(kubectl --kubeconfig "$GATE" config current-context 2>/dev/null || true)
    if [[ $ctx == kind-* ]] && cluster_exists "${ctx#kind-}"; then
      log "the existing cluster is kind cluster ${ctx#kind-}: loading $E2E_IMAGE into it"
      "$KIND" load docker-image --name "${ctx#kind-}" "$E2E_IMAGE" >&2
    else
      log "the existing cluster is not a local kind cluster: $E2E_IMAGE must be on its nodes (E2E_IMAGE/E2E_IMAGE_PULL_POLICY)"
    fi
  fi
else
  log "no docker: not building $E2E_IMAGE; it must already be on the nodes (or set E2E_IMAGE/E2E_IMAGE_PULL_POLICY)"
fi

if [[ $MODE == e2e && -n $K8S_CONFORMANCE ]]; then
  phase "k8s conformance build"
  # (no docker: an existing cluster's nodes pull the images, only e2e.test is needed here)
  args+=(-e2e.k8s-conformance -e2e.k8s-conformance-e2e-test="$("$REPO_ROOT/ci/k8s-conformance.sh" "$([[ -n $DOCKER ]] && echo build || echo binaries)" | tail -n 1)")
  if [[ -n $GATE && ${ctx:-} == kind-* ]] && cluster_exists "${ctx#kind-}"; then
    images=$("$REPO_ROOT/ci/k8s-conformance.sh" images) # (a failure here stops the run: not in a for list)
    for img in $images; do "$KIND" load docker-image --name "${ctx#kind-}" "$img" >&2; done
  elif [[ -n $GATE ]]; then
    log "k8s conformance on an existing cluster: its nodes pull the e2e test images from registry.k8s.io unless KUBE_TEST_REPO_LIST names a mirror (docs/e2e.md)"
  fi
fi

if [[ $MODE == cluster ]]; then
  if ! cluster_exists "$CLUSTER"; then
    phase "cluster (go test setup)"
    (cd "$REPO_ROOT" && go test ./e2e/ -count=1 -timeout 20m -v -run TestE2E -args "${args[@]}" "${EXTRA_ARGS[@]}" -e2e.keep-cluster) >&2
  fi
  phase_end
  kubeconfig=$OUTPUT_DIR/kubeconfig-$CLUSTER
  "$KIND" get kubeconfig --name "$CLUSTER" >"$kubeconfig"
  cat >&2 <<EOF

kind cluster "$CLUSTER" is up with $CNI loaded ($WORKERS workers). Reach it with:
  export KUBECONFIG=$kubeconfig
  kubectl get nodes -o wide
Run the matrix against it (existing cluster): make e2e KUBECONFIG=$kubeconfig
Delete it:                                    make e2e-clean
EOF
  exit 0
fi

phase "go test (cluster, plugin, matrix)"
cd "$REPO_ROOT"
rc=0
# shellcheck disable=SC2086 # E2E_GO_TEST_ARGS is a list of words
go tool gotestsum --format standard-verbose \
  --junitfile "$ARTIFACTS_RUN/junit-e2e.xml" --junitfile-testcase-classname relative \
  --jsonfile "$ARTIFACTS_RUN/go-test.json" -- \
  ./e2e/ -count=1 -timeout "$E2E_TIMEOUT" ${E2E_PARALLEL:+-parallel "$E2E_PARALLEL"} ${E2E_GO_TEST_ARGS:-} -args "${args[@]}" "${EXTRA_ARGS[@]}" \
  2>&1 | tee "$ARTIFACTS_RUN/e2e.log" || rc=$?
# The suite rendered the four report formats (JUnit, JSON, Markdown, HTML) of whatever ran.
if [[ -n ${GITHUB_STEP_SUMMARY:-} && -f $ARTIFACTS_RUN/e2e-$CNI.md ]]; then
  cat "$ARTIFACTS_RUN/e2e-$CNI.md" >>"$GITHUB_STEP_SUMMARY"
fi
log "artifacts: $ARTIFACTS_RUN/{matrix.json,junit-e2e.xml,go-test.json,e2e.log,e2e-$CNI.{html,md,junit.xml,report.json}}"
if [[ -f $ARTIFACTS_RUN/k8s-conformance/outcome.txt ]]; then
  log "k8s conformance: $ARTIFACTS_RUN/k8s-conformance/{outcome.txt,junit_01.xml,report.json,e2e-test.log}"
  if [[ -n ${GITHUB_STEP_SUMMARY:-} ]]; then
    { echo "### Upstream Kubernetes conformance"; echo '```'; cat "$ARTIFACTS_RUN/k8s-conformance/outcome.txt"; echo '```'; } >>"$GITHUB_STEP_SUMMARY"
  fi
fi
exit "$rc"
