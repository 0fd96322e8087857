#!/usr/bin/env bash
# make test: unit tests, then the netns conformance suite against bin/podnet (root).
#   ci/test.sh        both
#   ci/test.sh unit   unit tests only (no root needed)
set -o errexit -o nounset -o pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=ci/lib.sh
source "$REPO_ROOT/ci/lib.sh"
ARTIFACTS=${ARTIFACTS:-$REPO_ROOT/_artifacts}
export ARTIFACTS

if [[ ${1:-} != unit && $(id -u) -ne 0 ]]; then
  die "make test runs the netns suite, which creates network namespaces and must run as root: sudo make test (or make unit)"
fi

phase "unit tests"
mkdir -p "$ARTIFACTS"
# Every package but the two suites that need root (netns-tests) or a cluster (e2e).
mapfile -t packages < <(cd "$REPO_ROOT" && go list ./... | grep -v -e '/netns-tests$' -e '/e2e$')
(cd "$REPO_ROOT" && go tool gotestsum --format testname --junitfile "$ARTIFACTS/junit-unit.xml" -- -race "${packages[@]}")
phase_summary
[[ ${1:-} == unit ]] && exit 0

# The conformance script prints its own phases; the unit phase is reported above.
"$REPO_ROOT/ci/conformance.sh"
