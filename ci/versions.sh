# shellcheck shell=bash disable=SC2034 # variables used by the scripts that source this
# ci/versions.sh: the one place that pins what the local kind node image is built from
# (Kubernetes, etcd, CoreDNS, pause, crictl, the node's Debian). Sourced by ci/node-image.sh
# (and ci/e2e.sh, for the plugin list); read by pins.go for `cnigate version`. Nothing else
# repeats these versions. After changing a Go-built component's version here, run
#   ci/node-image.sh sync-modules
# which rewrites the go.mod/go.sum of the matching module under ci/node-image/ (the build
# refuses to run while they disagree). kind and the CNI plugins are pinned in the root
# go.mod (kind is a `tool` there) and read from it, not repeated here.

KUBERNETES_VERSION=v1.34.4 # kubeadm kubelet kubectl kube-{apiserver,controller-manager,scheduler,proxy}
ETCD_VERSION=v3.6.5        # image registry.k8s.io/etcd:<this without the v>-<ETCD_IMAGE_REVISION>
ETCD_IMAGE_REVISION=0      # the "-0" suffix of kubeadm's etcd image tag
COREDNS_VERSION=v1.12.1
PAUSE_VERSION=3.10.1       # ci/node-image/pause is our own program; only the tag is pinned
CRICTL_VERSION=v1.34.0     # sigs.k8s.io/cri-tools, matches the Kubernetes minor

# The upstream reference CNI plugins the node image ships in /opt/cni/bin (and ci/e2e.sh
# installs on nodes that lack one the chosen conflist needs): package paths under plugins/ of
# the containernetworking/plugins module, whose version the root go.mod pins (`tool`s there).
CNI_REFERENCE_PLUGINS=(main/loopback ipam/host-local main/bridge meta/portmap meta/bandwidth)

# Node OS: Debian via debootstrap (minbase) plus these packages.
DEBIAN_SUITE=bookworm
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
NODE_PACKAGES=(
  systemd systemd-sysv dbus
  iptables nftables iproute2 conntrack ethtool ebtables kmod socat
  procps util-linux mount ca-certificates jq
  containerd runc libseccomp2
)

# What the podnet-agent image (ci/image.sh) takes from Debian's packages (DEBIAN_SUITE, the
# host's apt mirror): iptables (nft backend) and the libraries it links, for go-iptables.
AGENT_IMAGE_PACKAGES=(
  iptables libip4tc2 libip6tc2 libxtables12 libmnl0 libnetfilter-conntrack3 libnfnetlink0 libnftnl11
  netbase libc6 libgcc-s1
)

# The image kind publishes for this Kubernetes minor, used instead of a local build when the
# registry answers. The release notes of the kind the root go.mod pins
# (https://github.com/kubernetes-sigs/kind/releases) list no image for KUBERNETES_VERSION's
# patch, only this one; the e2e suite checks each kubelet against the image's /kind/version.
PUBLISHED_NODE_IMAGE=kindest/node:v1.34.11@sha256:44e222ee2132dab25ff87301682f89eb82c7880ea3a1bf543bfe9708fd08d67d
