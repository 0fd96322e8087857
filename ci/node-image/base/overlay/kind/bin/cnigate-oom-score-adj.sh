#!/usr/bin/env bash
# Runs before containerd in every node (containerd.service.d/10-cnigate-oom-score-adj.conf).
#
# Lowering a process's oom_score_adj needs CAP_SYS_RESOURCE. Some hosts (VMs whose root lacks
# it in the bounding set; see ci/ensure-docker/runc-shim) cannot grant it to the node, and then
# every pod sandbox fails: CRI asks runc for a negative score and runc dies with "can't get
# final child's PID from pipe: EOF". containerd's restrict_oom_score_adj (what kind's
# entrypoint sets for rootless nodes) clamps those requests to containerd's own score.
#
# It is set here, at boot, and only when the capability is missing, rather than baked into
# the image: the image stays the same on every host, and where the capability exists
# (GitHub runners, ordinary machines) containerd keeps kind's default (false), so OOM
# priorities are exactly kind's. Clamping would only change which process the kernel OOM
# killer picks under memory pressure, never whether a pod starts.
set -o errexit -o nounset -o pipefail

readonly config=/etc/containerd/config.toml
readonly cap_sys_resource=24

bounding=""
while read -r key value; do
  if [[ $key == CapBnd: ]]; then bounding=$value; fi
done </proc/self/status

if [[ -n $bounding ]] && (((16#$bounding >> cap_sys_resource & 1) == 0)); then
  if grep -q 'restrict_oom_score_adj = false' "$config"; then
    sed -i 's/restrict_oom_score_adj = false/restrict_oom_score_adj = true/' "$config"
    echo "cnigate: CAP_SYS_RESOURCE is not in the bounding set ($bounding): restrict_oom_score_adj = true"
  fi
fi
