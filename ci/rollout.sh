#!/usr/bin/env bash
# ci/rollout.sh: the rollout gate on kind (make e2e-rollout; docs/rollout.md).
#
# A kind cluster runs podnet deployed by its image and manifest (ci/e2e.sh cluster with this
# build's image, make image); the gate
# (`cnigate rollout`, rollout/) then
#   1. upgrades it to a good candidate (the same build under a new tag) and back: must pass,
#      0 resets, 0 connections lost;
#   2. for each defect of ROLLOUT_DEFECTS, tries a defective candidate (ci/image.sh with
#      IMAGE_DEFECT: built with -tags podnet_defects, ENV PODNET_DEFECT baked into the image):
#      must be stopped at the canary, the canary put back on the good image, every other node
#      untouched, the DaemonSet's update strategy restored.
# A bad candidate that passes, or a good one that fails, fails this script.
#
# Artifacts: $ARTIFACTS/rollout/{good,defect-<name>}/rollout.{json,md,html,junit.xml,report.json},
# $ARTIFACTS/rollout/summary.md (the table of what was caught where).
#
# Environment (all optional):
#   ROLLOUT_CLUSTER=cnigate-rollout   kind cluster name (created with ci/e2e.sh cluster when missing)
#   ROLLOUT_KEEP=0                    1: leave the cluster running at the end
#   ROLLOUT_DEFECTS="drop-routes"     defects to prove (drop-routes conf-subnet wipe-store no-masquerade;
#                                     wipe-store runs last: its damage to the canary's store is
#                                     permanent, the script deletes the canary's pods afterwards)
#   ROLLOUT_GOOD=1                    0: skip the good candidate
#   ROLLOUT_ARGS=                     extra `cnigate rollout` flags (e.g. --settle 5s)
#   WORKERS=2, NODE_IMAGE=, E2E_IMAGE=cnigate/e2e-busybox:1.35, ARTIFACTS=_artifacts   as ci/e2e.sh
set -o errexit -o nounset -o pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
source "$REPO_ROOT/ci/lib.sh"

ROLLOUT_CLUSTER=${ROLLOUT_CLUSTER:-cnigate-rollout}
ROLLOUT_KEEP=${ROLLOUT_KEEP:-0}
ROLLOUT_DEFECTS=${ROLLOUT_DEFECTS:-drop-routes}
ROLLOUT_GOOD=${ROLLOUT_GOOD:-1}
ROLLOUT_ARGS=${ROLLOUT_ARGS:-}
E2E_IMAGE=${E2E_IMAGE:-cnigate/e2e-busybox:1.35}
ARTIFACTS=${ARTIFACTS:-$REPO_ROOT/_artifacts}
OUT=$ARTIFACTS/rollout
KIND=$OUTPUT_DIR/bin/kind
CNIGATE=$REPO_ROOT/bin/cnigate
KUBECONFIG_FILE=$OUTPUT_DIR/kubeconfig-$ROLLOUT_CLUSTER
EXTERNAL=$ROLLOUT_CLUSTER-rollout-external
# podnet's manifest (deploy/): where the gate finds the DaemonSet.
NS=podnet-system
DS=podnet-agent
CONTAINER=agent
POD_NETWORK=10.244.0.0/16 # kind-config's pod subnet
export DOCKER_BUILDKIT=0

defects=()
for d in $ROLLOUT_DEFECTS; do
  case $d in drop-routes | conf-subnet | no-masquerade) defects+=("$d") ;; wipe-store) ;; *) die "ROLLOUT_DEFECTS: unknown defect '$d'" ;; esac
done
# wipe-store destroys the canary's store for good (the rollback cannot bring it back): last.
if [[ " $ROLLOUT_DEFECTS " == *" wipe-store "* ]]; then defects+=(wipe-store); fi
[[ $ROLLOUT_KEEP == 0 || $ROLLOUT_KEEP == 1 ]] || die "ROLLOUT_KEEP must be 0 or 1, not '$ROLLOUT_KEEP'"
[[ -x $CNIGATE ]] || die "bin/cnigate is missing: make e2e-rollout builds it"

kc() { kubectl --kubeconfig "$KUBECONFIG_FILE" "$@"; }

# shellcheck disable=SC2317 # invoked by the trap
on_exit() {
  local rc=$?
  trap - EXIT INT TERM
  docker rm -f -v "$EXTERNAL" >/dev/null 2>&1 || true
  if [[ $ROLLOUT_KEEP == 0 ]] && [[ -x $KIND ]] && "$KIND" get clusters 2>/dev/null | grep -qx -- "$ROLLOUT_CLUSTER"; then
    log "deleting kind cluster $ROLLOUT_CLUSTER"
    "$KIND" delete cluster --name "$ROLLOUT_CLUSTER" >&2 || true
    "$CNIGATE" hermetic-clean --cluster "$ROLLOUT_CLUSTER" >&2 || true
  fi
  phase_summary
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT TERM

mkdir -p "$OUT" "$OUTPUT_DIR/bin"
rm -rf "${OUT:?}"/*

phase "images"
(cd "$REPO_ROOT" && go build -o "$KIND" sigs.k8s.io/kind)
base=$("$REPO_ROOT/ci/image.sh" build | tail -n 1)
good=$base-candidate
docker tag "$base" "$good" # the same build under a new tag
images=("$base" "$good")
declare -A bad=()
for d in "${defects[@]}"; do
  bad[$d]=$(IMAGE_DEFECT=$d "$REPO_ROOT/ci/image.sh" build | tail -n 1)
  images+=("${bad[$d]}")
done

phase "cluster"
if ! "$KIND" get clusters 2>/dev/null | grep -qx -- "$ROLLOUT_CLUSTER"; then
  # podnet deployed by its manifest with this build's image (ci/e2e.sh cluster, e2e/matrix/podnet.go)
  CLUSTER_NAME=$ROLLOUT_CLUSTER CNI=podnet AGENT_IMAGE=$base "$REPO_ROOT/ci/e2e.sh" cluster
fi
"$KIND" get kubeconfig --name "$ROLLOUT_CLUSTER" >"$KUBECONFIG_FILE"

"$KIND" load docker-image --name "$ROLLOUT_CLUSTER" "${images[@]}" "$E2E_IMAGE" >&2

phase "podnet DaemonSet"
if ! kc -n "$NS" get daemonset "$DS" >/dev/null 2>&1; then
  log "deploying podnet $base by its manifest"
  IMAGE=$base NETWORK=$POD_NETWORK IMAGE_PULL_POLICY=Never MANIFEST=$OUTPUT_DIR/podnet-$ROLLOUT_CLUSTER.yaml "$REPO_ROOT/ci/image.sh" manifest
  kc apply -f "$OUTPUT_DIR/podnet-$ROLLOUT_CLUSTER.yaml" >&2
fi
current=$(kc -n "$NS" get daemonset "$DS" -o jsonpath="{.spec.template.spec.containers[?(@.name==\"$CONTAINER\")].image}")
[[ $current == "$base" ]] || die "daemonset $NS/$DS runs $current, not this build's $base: delete the cluster (kind delete cluster --name $ROLLOUT_CLUSTER) or deploy $base"
kc -n "$NS" rollout status daemonset "$DS" --timeout 5m >&2

phase "external host"
# A TCP echo outside the cluster, on the kind network, without a route to the pod network:
# only a masqueraded pod's connection comes back (the no-masquerade defect).
docker rm -f -v "$EXTERNAL" >/dev/null 2>&1 || true
# Its own label: ci/e2e.sh removes every io.cnigate.e2e=external container when a run ends.
docker run -d --name "$EXTERNAL" --network kind --label io.cnigate.rollout=external "$E2E_IMAGE" \
  probe stream-server -tcp :7000 -udp :7001 >/dev/null
ext_ip=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$EXTERNAL")
log "external host $EXTERNAL at $ext_ip:7000"

# gate NAME IMAGE [FLAGS...]: one cnigate rollout into $OUT/NAME; its exit status.
gate() {
  local name=$1 image=$2
  shift 2
  local rc=0
  [[ $(docker inspect -f '{{.State.Running}}' "$EXTERNAL" 2>/dev/null) == true ]] ||
    die "the external host $EXTERNAL is gone (removed by someone else?): every new pod's external check would fail"
  # shellcheck disable=SC2086 # ROLLOUT_ARGS is a list of words
  "$CNIGATE" rollout --kubeconfig "$KUBECONFIG_FILE" --namespace "$NS" --daemonset "$DS" --container "$CONTAINER" \
    --image "$image" --test-image "$E2E_IMAGE" --image-pull-policy Never --external "$ext_ip:7000" \
    --reservations-dir /var/lib/cni/podnet/podnet \
    --report-dir "$OUT/$name" "$@" $ROLLOUT_ARGS || rc=$?
  return "$rc"
}

summary=$OUT/summary.md
{
  echo "| candidate | image | expected | verdict | stopped at | untouched | resets | longest gap ms (stream / new conn) | why |"
  echo "|---|---|---|---|---|---|---|---|---|"
} >"$summary"
row() { # NAME EXPECTED: a summary line from NAME's rollout.json
  jq -r --arg name "$1" --arg exp "$2" '
    [(.phases // [])[].nodes[]] as $n |
    "| \($name) | \(.candidate) | \($exp) | \(if .passed then "passed" else "FAILED" end) | \(.failed_node // "-") | \((.untouched // []) | join(", ")) | \([$n[].summary.resets] | add // 0) | \([$n[].summary.max_gap_ms] | max // 0 | floor) / \([$n[].summary.max_connect_gap_ms] | max // 0 | floor) | \(.failure // "" | gsub("\\|"; "/") | .[0:300]) |"' \
    "$OUT/$1/rollout.json" >>"$summary"
}
rc=0

if [[ $ROLLOUT_GOOD == 1 ]]; then
  phase "good candidate $good"
  if gate good "$good"; then
    resets=$(jq '[.phases[].nodes[].summary.resets] | add' "$OUT/good/rollout.json")
    [[ $resets == 0 ]] || { log "ERROR: the good candidate passed with $resets resets"; rc=1; }
  else
    log "ERROR: the good candidate $good did not pass (see $OUT/good/rollout.md)"
    rc=1
  fi
  row good pass
fi

for d in "${defects[@]}"; do
  phase "defect $d: ${bad[$d]}"
  if gate "defect-$d" "${bad[$d]}" --downgrade=false; then
    log "ERROR: the defective candidate ${bad[$d]} passed"
    rc=1
  else
    f=$OUT/defect-$d/rollout.json
    # Stopped at the canary, the canary back, nobody else touched, the strategy restored.
    if ! jq -e '.failed_node == .canary and .canary == .order[0] and (.phases[0].nodes | length) == 1 and
        ((.untouched // []) | sort) == (.order[1:] | sort) and .strategy.restored' "$f" >/dev/null; then
      log "ERROR: $d was not stopped at the canary with the other nodes untouched (see $OUT/defect-$d/rollout.md)"
      rc=1
    fi
  fi
  # Whatever happened, every pod of the DaemonSet must be back on the good image.
  imgs=$(kc -n "$NS" get pods -o jsonpath="{range .items[*]}{.spec.containers[?(@.name==\"$CONTAINER\")].image}{\"\\n\"}{end}" | sort -u)
  if [[ $imgs != "$base" ]]; then
    log "ERROR: after $d the DaemonSet's pods run: $(echo "$imgs" | tr '\n' ' ')"
    rc=1
  fi
  row "defect-$d" "stopped at the canary"
  if [[ $d == wipe-store ]]; then
    # Repair what it broke: the canary's pods lost their reservations; new pods get new ones.
    canary=$(jq -r .canary "$OUT/defect-$d/rollout.json")
    kc get pods -A --field-selector "spec.nodeName=$canary" -o json |
      jq -r '.items[] | select(.spec.hostNetwork != true) | "\(.metadata.namespace) \(.metadata.name)"' |
      while read -r ns pod; do kc -n "$ns" delete pod "$pod" --wait=false >&2; done
  fi
done

cat "$summary" >&2
if [[ -n ${GITHUB_STEP_SUMMARY:-} ]]; then cat "$summary" >>"$GITHUB_STEP_SUMMARY"; fi
log "artifacts: $OUT/{good,defect-*}/rollout.{json,md,html}, $summary"
exit "$rc"
