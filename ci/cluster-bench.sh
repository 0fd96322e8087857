#!/usr/bin/env bash
# ci/cluster-bench.sh: pod start-up through the CNI on kind (make cluster-bench).
#
# Creates a kind cluster with podnet (ci/e2e.sh cluster), then `cnigate cluster-bench`
# switches the workers between podnet and the reference conflist (bridge + host-local +
# portmap), one burst of CB_PODS pods per worker each per round, and writes
# _artifacts/cluster-bench.{json,junit.xml,report.json,md,html}. The cluster is deleted at
# the end (CB_KEEP=1 keeps it).
#
# Environment (all optional):
#   WORKERS=2          kind workers (pods go on each)
#   CB_PODS=100        pods per worker per burst
#   CB_ROUNDS=1        bursts per CNI (interleaved, order alternating)
#   CB_CLUSTER=cb-e2e  kind cluster name
#   CB_KEEP=0          1: leave the cluster running
set -o errexit -o nounset -o pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
source "$REPO_ROOT/ci/lib.sh"

WORKERS=${WORKERS:-2}
CB_PODS=${CB_PODS:-100}
CB_ROUNDS=${CB_ROUNDS:-1}
CB_CLUSTER=${CB_CLUSTER:-cb-e2e}
CB_KEEP=${CB_KEEP:-0}

# One kind cluster at a time on a shared machine: refuse to start next to another one.
others=$(docker ps --format '{{.Names}}' | grep -- '-control-plane$' | grep -vx -- "$CB_CLUSTER-control-plane" || true)
[[ -z $others ]] || die "another kind cluster runs ($others): wait for it to finish"

# shellcheck disable=SC2317 # invoked by the trap
cleanup() {
  local rc=$?
  [[ $CB_KEEP == 1 ]] || CLUSTER_NAME=$CB_CLUSTER E2E_CLUSTER=$CB_CLUSTER "$REPO_ROOT/ci/e2e.sh" clean || true
  exit "$rc"
}
trap cleanup EXIT

CLUSTER_NAME=$CB_CLUSTER WORKERS=$WORKERS CNI=podnet "$REPO_ROOT/ci/e2e.sh" cluster
cd "$REPO_ROOT"
bin/cnigate cluster-bench --kubeconfig "$OUTPUT_DIR/kubeconfig-$CB_CLUSTER" --cluster "$CB_CLUSTER" \
  --workers "$WORKERS" --pods "$CB_PODS" --rounds "$CB_ROUNDS" --plugin bin/podnet \
  --cni-bin "$OUTPUT_DIR/cni-plugins" --report-dir _artifacts
