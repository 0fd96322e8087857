#!/usr/bin/env bash
# Runs the netns conformance suite (bin/cnigate conformance) against CNI plugin binaries.
#   ci/conformance.sh            PLUGIN (default bin/podnet) with NETCONF or CONFLIST and PROFILE
#   ci/conformance.sh upstream   each upstream plugin of UPSTREAM_PLUGINS with its netconf, profile and
#                                known failures (conformance/testdata); green when every plugin fails
#                                exactly its known specs
#   ci/conformance.sh report     upstream + podnet, then the published report in docs/conformance/
# Env: PLUGIN, NETCONF, CONFLIST, PROFILE, CNI_PATH, LABELS, KNOWN_FAILURES, ARTIFACTS (default
# _artifacts), UPSTREAM_PLUGINS (upstream: those with a known-failures list checked on a real run,
# bridge ptp macvlan host-device; report: those and ipvlan, vlan, which need a kernel with the
# ipvlan and 802.1Q drivers; add them to the first list once their lists are committed).
set -o errexit -o nounset -o pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=ci/lib.sh
source "$REPO_ROOT/ci/lib.sh"
ARTIFACTS=${ARTIFACTS:-$REPO_ROOT/_artifacts}
TESTDATA=$REPO_ROOT/conformance/testdata
CNIGATE=$REPO_ROOT/bin/cnigate
mode=${1:-one}
if [[ $mode == report ]]; then
  UPSTREAM_PLUGINS=${UPSTREAM_PLUGINS:-bridge ptp macvlan ipvlan host-device vlan}
else
  UPSTREAM_PLUGINS=${UPSTREAM_PLUGINS:-bridge ptp macvlan host-device}
fi

[[ $(id -u) -eq 0 ]] || die "the netns suite creates network namespaces and must run as root: sudo make ${1:-test}"
ensure_commands "${SUITE_COMMANDS[@]}"
[[ -x $CNIGATE ]] || die "$CNIGATE missing (make cnigate)"

# The upstream plugins at the containernetworking/plugins version pinned in go.mod: the plugins
# under test of `upstream`, and portmap, chained after the plugin under test in the chaining specs.
UPSTREAM_CNI=$OUTPUT_DIR/upstream-cni
phase "build the upstream plugins (pinned in go.mod)"
mkdir -p "$UPSTREAM_CNI" "$ARTIFACTS"
rm -f "$ARTIFACTS"/*.not-run.txt
read -r -a upstream_plugins <<<"$UPSTREAM_PLUGINS"
packages=(meta/portmap ipam/host-local "${upstream_plugins[@]/#/main/}")
(cd "$REPO_ROOT" && CGO_ENABLED=0 go build -o "$UPSTREAM_CNI/" "${packages[@]/#/github.com/containernetworking/plugins/plugins/}")

# conformance NAME ARGS...: one run of the suite, reports $ARTIFACTS/NAME.*; the Markdown summary
# goes to $GITHUB_STEP_SUMMARY when set.
conformance() {
  local name=$1 rc=0
  shift
  phase "conformance: $name"
  "$CNIGATE" conformance --chain-cni-path "$UPSTREAM_CNI" --report-dir "$ARTIFACTS" --name "$name" "$@" || rc=$?
  if [[ -n ${GITHUB_STEP_SUMMARY:-} && -f $ARTIFACTS/$name.md ]]; then cat "$ARTIFACTS/$name.md" >>"$GITHUB_STEP_SUMMARY"; fi
  return "$rc"
}

# upstream: every upstream plugin against its known failures. A plugin this host cannot run at
# all (cnigate exits 3: its kernel lacks the plugin's link kind) is reported, not failed.
upstream() {
  local failed=() not_run=() p known rc
  for p in "${upstream_plugins[@]}"; do
    known=()
    [[ -f $TESTDATA/$p.known-failures ]] && known=(--known-failures "$TESTDATA/$p.known-failures")
    rc=0
    conformance "netns-upstream-$p" --plugin "$UPSTREAM_CNI/$p" --cni-path "$UPSTREAM_CNI" \
      --netconf "$TESTDATA/$p.json" --profile "$TESTDATA/profiles/$p.yaml" "${known[@]}" || rc=$?
    case $rc in
      0) ;;
      3) not_run+=("$p") ;;
      *) failed+=("$p") ;;
    esac
  done
  phase_summary
  [[ ${#not_run[@]} -eq 0 ]] || log "NOT RUN (this host cannot run them, see $ARTIFACTS/netns-upstream-*.not-run.txt): ${not_run[*]}"
  [[ ${#failed[@]} -eq 0 ]] || { log "ERROR: upstream plugins off their known failures: ${failed[*]}"; return 1; }
  # Veth plugins need nothing a Linux kernel lacks: a host that cannot run them cannot judge
  # anything, and a run that judged nothing must not read as a pass.
  for p in bridge ptp; do
    if [[ " ${not_run[*]} " == *" $p "* ]]; then
      log "ERROR: $p did not run; this host cannot run the suite"
      return 1
    fi
  done
  [[ ${#not_run[@]} -lt ${#upstream_plugins[@]} ]] || { log "ERROR: no upstream plugin ran"; return 1; }
}

case $mode in
  upstream) upstream ;;
  report)
    rc=0
    upstream || rc=$?
    conformance netns-podnet --plugin "$REPO_ROOT/bin/podnet" --netconf "$TESTDATA/podnet.json" \
      --profile "$TESTDATA/profiles/podnet.yaml" --labels generic || rc=$?
    phase "publish docs/conformance"
    runs=(--run "podnet=$ARTIFACTS/netns-podnet.ginkgo.json")
    for p in "${upstream_plugins[@]}"; do
      if [[ -f $ARTIFACTS/netns-upstream-$p.not-run.txt ]]; then
        runs+=(--not-run "$p=$ARTIFACTS/netns-upstream-$p.not-run.txt")
        continue
      fi
      runs+=(--run "$p=$ARTIFACTS/netns-upstream-$p.ginkgo.json")
      [[ -f $TESTDATA/$p.known-failures ]] && runs+=(--known "$p=$TESTDATA/$p.known-failures")
    done
    "$CNIGATE" publish "${runs[@]}" --out "$REPO_ROOT/docs/conformance"
    phase_summary
    exit "$rc"
    ;;
  one)
    PLUGIN=$(realpath "${PLUGIN:-$REPO_ROOT/bin/podnet}")
    args=(--plugin "$PLUGIN" --cni-path "${CNI_PATH:-$(dirname "$PLUGIN")}")
    if [[ -n ${CONFLIST:-} ]]; then args+=(--conflist "$CONFLIST"); else args+=(--netconf "${NETCONF:-$TESTDATA/podnet.json}"); fi
    if [[ -n ${PROFILE:-} ]]; then
      args+=(--profile "$PROFILE")
    elif [[ $PLUGIN == "$REPO_ROOT/bin/podnet" ]]; then
      args+=(--profile "$TESTDATA/profiles/podnet.yaml")
    fi
    [[ -n ${LABELS:-} ]] && args+=(--labels "$LABELS")
    [[ -n ${KNOWN_FAILURES:-} ]] && args+=(--known-failures "$KNOWN_FAILURES")
    rc=0
    conformance netns "${args[@]}" || rc=$?
    phase_summary
    exit "$rc"
    ;;
  *) die "usage: ci/conformance.sh [upstream|report]" ;;
esac
