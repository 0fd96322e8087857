#!/usr/bin/env bash
# make lint: golangci-lint on the Go code, actionlint on the workflows, shellcheck on every
# script, and the docs check (links and quoted figures, internal/docscheck). golangci-lint and
# actionlint are pinned in tools/<name>/go.mod; shellcheck is Debian's.
set -o errexit -o nounset -o pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=ci/lib.sh
source "$REPO_ROOT/ci/lib.sh"
cd "$REPO_ROOT"

command -v shellcheck >/dev/null || die "shellcheck is missing: apt-get install -y shellcheck"

# Every Go module of the repository that has Go code: the root and the programs under ci/
# (modules that only pin an upstream program to build have nothing to lint).
modules=()
for mod in $(git ls-files '*go.mod' | xargs -n1 dirname | grep -v '^tools/'); do
  [[ -n $(git ls-files "$mod/*.go") ]] && modules+=("$mod")
done
tool() { go tool -modfile="$REPO_ROOT/tools/$1/go.mod" "$@"; }

# ci/k8s-conformance/e2e-test is upstream's e2e TestMain (~100 lines) over the Kubernetes e2e
# framework: type-checking it compiles that framework (7 min with a cold cache, most of a cold
# lint), and the stage that uses it compiles it anyway (ci/k8s-conformance.sh build). gofmt here.
heavy_modules=(ci/k8s-conformance/e2e-test)

rc=0
for mod in "${modules[@]}"; do
  if [[ " ${heavy_modules[*]} " == *" $mod "* ]]; then
    phase "gofmt ($mod: compiled by its own build)"
    unformatted=$(gofmt -l "$mod")
    [[ -z $unformatted ]] || { echo "not gofmt'ed: $unformatted" >&2; rc=1; }
    continue
  fi
  phase "golangci-lint ($mod)"
  (cd "$mod" && tool golangci-lint run --config "$REPO_ROOT/.golangci.yml" ./...) || rc=1
done

phase "actionlint"
tool actionlint -shellcheck="$(command -v shellcheck)" .github/workflows/*.yml || rc=1

phase "shellcheck"
mapfile -t scripts < <(git ls-files '*.sh' .ci/run; git grep -l '^#!/usr/bin/env bash' -- ':!*.sh' ':!.ci/run' || true)
shellcheck -x "${scripts[@]}" || rc=1

# The Markdown docs (README.md, docs/, bench/README.md, ...): every relative link resolves,
# and the figures they quote from the published conformance report match it
# (internal/docscheck; well under a second).
phase "docs"
go test -count=1 ./internal/docscheck || rc=1

phase_summary
[[ $rc -eq 0 ]] || die "lint found problems (see above)"
