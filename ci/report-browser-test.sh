#!/usr/bin/env bash
# make report-browser-test: render the report pages of the fixtures (results/testdata,
# report/testdata) and check them in headless Chromium (report/browser_test.go: cells and charts
# present, no console error, no request leaving the page). Installs Debian's chromium when it is
# missing (root). Without chromium the plain unit run (make unit) skips this test and says why;
# here a missing browser is a failure.
set -o errexit -o nounset -o pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=ci/lib.sh
source "$REPO_ROOT/ci/lib.sh"

# CNIGATE_CHROMIUM=<path> uses that browser instead (GitHub's Ubuntu runners ship Google Chrome;
# Ubuntu's chromium package is a snap).
browser=${CNIGATE_CHROMIUM:-chromium}
if ! command -v "$browser" >/dev/null; then
  [[ $(id -u) -eq 0 ]] || die "chromium is missing and installing it needs root: sudo apt-get install -y chromium"
  phase "install chromium (apt)"
  apt-get install -y -qq chromium >&2 || { apt-get update -qq && apt-get install -y -qq chromium >&2; }
fi
phase "report pages in $("$browser" --version 2>/dev/null || echo "$browser")"
cd "$REPO_ROOT"
CNIGATE_BROWSER_TEST=require go test -count=1 -v -run 'TestPagesRenderInChromium' ./report
phase_summary
