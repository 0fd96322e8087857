#!/usr/bin/env bash
# Runs the netns conformance suite (netns-tests/) against a CNI plugin binary.
#   ci/conformance.sh            PLUGIN (default bin/podnet) with NETCONF (default: podnet's template)
#   ci/conformance.sh upstream   the generic specs against upstream bridge + host-local; green when
#                                the failures are exactly the known ones in KNOWN_FAILURES
# Env: PLUGIN, NETCONF, CNI_PATH, LABELS (a Ginkgo label filter; default: every spec for podnet,
# "generic" for any other plugin), KNOWN_FAILURES (a list of specs the plugin is known to fail, see
# ci/xfail), ARTIFACTS (default _artifacts).
set -o errexit -o nounset -o pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=ci/lib.sh
source "$REPO_ROOT/ci/lib.sh"
ARTIFACTS=${ARTIFACTS:-$REPO_ROOT/_artifacts}

[[ $(id -u) -eq 0 ]] || die "the netns suite creates network namespaces and must run as root: sudo make ${1:-test}"
ensure_commands "${SUITE_COMMANDS[@]}"

# Upstream plugins from the containernetworking/plugins version pinned in go.mod: portmap is
# chained after the plugin under test in the chaining specs; bridge + host-local are the
# reference plugin of `make conformance-upstream`.
UPSTREAM_CNI=$OUTPUT_DIR/upstream-cni
phase "build upstream portmap, bridge, host-local (pinned in go.mod)"
mkdir -p "$UPSTREAM_CNI"
(cd "$REPO_ROOT" && CGO_ENABLED=0 go build -o "$UPSTREAM_CNI/" \
  github.com/containernetworking/plugins/plugins/meta/portmap \
  github.com/containernetworking/plugins/plugins/main/bridge \
  github.com/containernetworking/plugins/plugins/ipam/host-local)
export CHAIN_CNI_PATH=$UPSTREAM_CNI

report=netns
if [[ ${1:-} == upstream ]]; then
  PLUGIN=$UPSTREAM_CNI/bridge
  NETCONF=$REPO_ROOT/netns-tests/testdata/bridge-host-local.json.tmpl
  CNI_PATH=$UPSTREAM_CNI
  KNOWN_FAILURES=${KNOWN_FAILURES:-$REPO_ROOT/netns-tests/testdata/upstream-bridge.known-failures}
  report=netns-upstream
fi

PLUGIN=$(realpath "${PLUGIN:-$REPO_ROOT/bin/podnet}")
NETCONF=$(realpath "${NETCONF:-$REPO_ROOT/netns-tests/testdata/podnet.json.tmpl}")
if [[ -z ${LABELS:-} ]]; then
  if [[ $PLUGIN == "$REPO_ROOT/bin/podnet" ]]; then LABELS='generic || podnet'; else LABELS=generic; fi
fi
[[ -x $PLUGIN ]] || die "PLUGIN=$PLUGIN is not an executable (run make build)"
export PLUGIN NETCONF CNI_PATH=${CNI_PATH:-}

phase "compile the netns suite"
mkdir -p "$OUTPUT_DIR" "$ARTIFACTS"
(cd "$REPO_ROOT" && go test -c -o "$OUTPUT_DIR/netns-tests.test" ./netns-tests)

phase "netns suite: $PLUGIN, labels '$LABELS'"
rc=0
(cd "$REPO_ROOT/netns-tests" && "$OUTPUT_DIR/netns-tests.test" -test.timeout 30m \
  --ginkgo.label-filter="$LABELS" --ginkgo.junit-report="$ARTIFACTS/junit-$report.xml" \
  --ginkgo.json-report="$ARTIFACTS/$report.json" \
  --ginkgo.show-node-events --ginkgo.no-color="${NO_COLOR:-false}") || rc=$?
# The four report formats (JUnit, JSON, Markdown, HTML) of whatever ran, even a failed run.
[[ -f $ARTIFACTS/$report.json ]] && "$REPO_ROOT/ci/report.sh" conformance "$ARTIFACTS/$report.json" "$report"

if [[ -n ${KNOWN_FAILURES:-} ]]; then
  phase "compare the failures with $(basename "$KNOWN_FAILURES")"
  # The verdict is the comparison's: exactly the known failures (a finding, printed) is green;
  # a new failure, or a known one that passed or did not run, is red.
  rc=0
  (cd "$REPO_ROOT" && go run ./ci/xfail -report "$ARTIFACTS/$report.json" -known "$KNOWN_FAILURES") || rc=$?
fi
phase_summary
log "JUnit report: $ARTIFACTS/junit-$report.xml"
exit "$rc"
