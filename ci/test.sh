#!/usr/bin/env bash
# make test: unit tests, fuzz targets, then the netns conformance suite against bin/podnet (root).
#   ci/test.sh        all three
#   ci/test.sh unit   unit tests and fuzz targets only (no root needed)
# Env: FUZZTIME (per fuzz target, default 10s; 0 skips fuzzing), ARTIFACTS (default _artifacts).
set -o errexit -o nounset -o pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=ci/lib.sh
source "$REPO_ROOT/ci/lib.sh"
ARTIFACTS=${ARTIFACTS:-$REPO_ROOT/_artifacts}
FUZZTIME=${FUZZTIME:-10s}
export ARTIFACTS

# Everything the run needs is checked (and installed when possible) before anything runs.
if [[ ${1:-} != unit ]]; then
  [[ $(id -u) -eq 0 ]] ||
    die "make test runs the netns suite, which creates network namespaces and must run as root: sudo make test (or make unit)"
  ensure_commands "${SUITE_COMMANDS[@]}"
elif [[ $(id -u) -eq 0 ]]; then
  ensure_commands "${SUITE_COMMANDS[@]}"
else
  ensure_commands
fi

phase "unit tests"
mkdir -p "$ARTIFACTS"
# Every package but the two suites that need root (netns-tests) or a cluster (e2e).
mapfile -t packages < <(cd "$REPO_ROOT" && go list ./... | grep -v -e '/netns-tests$' -e '/e2e$')
(cd "$REPO_ROOT" && go tool gotestsum --format testname --junitfile "$ARTIFACTS/junit-unit.xml" -- -race "${packages[@]}")

# Every Go fuzz target in the repository, found anew each run (a new Fuzz* function needs no
# change here), runs for FUZZTIME. A crash fails the run and leaves its input under the
# package's testdata/fuzz/<target>/: commit it and it is a regression case from then on.
if [[ $FUZZTIME != 0 ]]; then
  phase "fuzz targets ($FUZZTIME each)"
  mapfile -t fuzz_dirs < <(cd "$REPO_ROOT" && grep -rlE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*\(' . |
    xargs -r -n1 dirname | sort -u)
  fuzzed=0
  for dir in "${fuzz_dirs[@]}"; do
    mapfile -t targets < <(cd "$REPO_ROOT" && go test -list '^Fuzz' "$dir" | { grep '^Fuzz' || true; })
    for target in "${targets[@]}"; do
      log "fuzz $dir $target"
      corpus=$REPO_ROOT/$dir/testdata/fuzz/$target
      before=$(ls "$corpus" 2>/dev/null || true)
      if ! (cd "$REPO_ROOT" && go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$dir"); then
        # Go's fuzz coordinator can fail a target at the -fuzztime deadline with "context deadline
        # exceeded" and no failing input (golang/go#75804, fixed in Go 1.27). A real failure
        # writes its input under testdata/fuzz; without one, the target runs once more.
        [[ $(ls "$corpus" 2>/dev/null || true) == "$before" ]] || die "fuzz $dir $target failed; its input is in $corpus"
        log "fuzz $dir $target failed without writing a failing input (golang/go#75804): running it once more"
        (cd "$REPO_ROOT" && go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$dir")
      fi
      fuzzed=$((fuzzed + 1))
    done
  done
  log "$fuzzed fuzz targets ran for $FUZZTIME each without a failure"
fi
phase_summary
[[ ${1:-} == unit ]] && exit 0

# The conformance script prints its own phases; the unit phase is reported above.
"$REPO_ROOT/ci/conformance.sh"
