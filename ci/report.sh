#!/usr/bin/env bash
# ci/report.sh KIND IN [NAME]: render a finished run's JSON with bin/cnigate (built if missing)
# into $ARTIFACTS (default _artifacts) as NAME.junit.xml, NAME.report.json, NAME.md, NAME.html.
#   KIND  e2e (IN = matrix.json; for a v0 one, phases-e2e.tsv next to it is read too), bench
#         (IN = bench.json), cluster-bench (IN = cluster-bench.json) or conformance (IN = a Ginkgo
#         JSON report, --ginkgo.json-report); a file of another kind is an error (docs/results.md)
#   NAME  default KIND
# With $GITHUB_STEP_SUMMARY set (GitHub Actions), the Markdown summary is appended to it.
set -o errexit -o nounset -o pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=ci/lib.sh
source "$REPO_ROOT/ci/lib.sh"
ARTIFACTS=${ARTIFACTS:-$REPO_ROOT/_artifacts}

[[ $# -ge 2 && $# -le 3 ]] || die "usage: ci/report.sh e2e|bench|cluster-bench|conformance IN [NAME]"
kind=$1 in=$2 name=${3:-$1}
[[ -f $in ]] || die "$in: no such file (did the run get that far?)"
[[ -x $REPO_ROOT/bin/cnigate ]] || make -C "$REPO_ROOT" --no-print-directory cnigate >&2
"$REPO_ROOT/bin/cnigate" report "$kind" --in "$in" --report-dir "$ARTIFACTS" --name "$name" >&2
if [[ -n ${GITHUB_STEP_SUMMARY:-} ]]; then
  cat "$ARTIFACTS/$name.md" >>"$GITHUB_STEP_SUMMARY"
fi
