# cnigate: the podnet CNI plugin and the harness that proves it.
# Targets are thin: the work lives in ci/*.sh so CI and humans run the same thing.

SHELL := /usr/bin/env bash
.SHELLFLAGS := -o errexit -o nounset -o pipefail -c

# Variables users set on the command line (make exports them to the scripts):
#   PLUGIN, NETCONF|CONFLIST, PROFILE, CNI_PATH, LABELS   plugin under test for `make conformance`
#   KUBECONFIG                  run `make e2e` against an existing cluster (on the command line)
#   WORKERS                     number of kind workers (default 2)
#   E2E_PARALLEL                `make e2e`: cells run at once (default 2 per worker, at least 4)
#   E2E_SCALE_WORKERS           `make e2e-scale`: the sizes, one run each (default "2 4 8")
#   IP_FAMILY                   `make e2e`/`make cluster` on kind: ipv4 (default), ipv6 (IPv6 only) or dual
#   K8S_CONFORMANCE=1           `make e2e`: then the upstream Kubernetes [sig-network] Conformance specs (ci/k8s-conformance.sh)
#   VERSION                     version stamped into bin/cnigate (default: git describe)
#   BASELINE, CANDIDATE, TOLERANCE  `make bench` as a gate: candidate (default bin/podnet) vs
#                               the deployed baseline binary, fails when slower by > TOLERANCE
#   CB_PODS, CB_ROUNDS, CB_KEEP `make cluster-bench`: pods per worker (100), rounds per CNI (1), keep the cluster
#   NETWORK, NETWORK6, MTU, ROUTES, IMAGE  `make manifest`: the cluster's IPv4/IPv6 pod network, the pods' MTU,
#                               routes node|none, the image (default: the one `make image` builds)
#   IMAGE_DEFECT                `make image`: a defective candidate for the rollout gate (docs/rollout.md)
#   CNI                         what `make e2e`/`make cluster` install on kind: podnet (default) or bridge (`bin/cnigate cnis`)

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
# Every binary's version and commit: one stamping mechanism (internal/buildinfo).
STAMP := -X github.com/cnigate/cnigate/internal/buildinfo.version=$(VERSION) -X github.com/cnigate/cnigate/internal/buildinfo.commit=$(COMMIT)

.PHONY: all build cnigate image image-save cnigate-image cnigate-image-save manifest release report-browser-test test unit conformance conformance-upstream conformance-report lint node-image cluster e2e e2e-scale e2e-clean e2e-image-save bench cluster-bench clean help

all: build

help: ## list targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-22s %s\n", $$1, $$2}'

build: ## build bin/podnet
	CGO_ENABLED=0 go build -trimpath -ldflags '$(STAMP)' -o bin/podnet ./plugin

cnigate: ## build bin/cnigate (static; version, conformance, report, publish, bench)
	CGO_ENABLED=0 go build -trimpath -ldflags '$(STAMP)' -o bin/cnigate ./cmd/cnigate

image: ## build the podnet-agent image (podnet's DaemonSet: agent + podnet + loopback + portmap) locally
	ci/image.sh build

image-save: ## build the podnet-agent image and write it to _output/podnet-agent-image.tar (for a registry)
	ci/image.sh save

cnigate-image: ## build the gate's image cnigate/cnigate:<version> (cnigate e2e in a cluster as a Job: cnigate manifest --gate-job)
	ci/cnigate-image.sh build

cnigate-image-save: ## build the gate's image and write it to _output/cnigate-image.tar (for a registry)
	ci/cnigate-image.sh save

manifest: cnigate ## build the image and render the manifest that deploys it: NETWORK=10.244.0.0/16 [NETWORK6=...] -> _output/podnet.yaml
	ci/image.sh manifest

release: ## dist/: cnigate and podnet for linux/amd64 and linux/arm64, SHA256SUMS
	ci/release.sh

test: build cnigate ## unit tests + netns conformance suite against podnet (root)
	ci/test.sh

unit: ## unit tests only (no root needed)
	ci/test.sh unit

conformance: build cnigate ## netns suite against PLUGIN= with NETCONF= or CONFLIST=, PROFILE= (default: podnet)
	ci/conformance.sh

conformance-upstream: cnigate ## generic specs against upstream bridge, ptp, macvlan, host-device (+ host-local), each vs its known failures
	ci/conformance.sh upstream

conformance-report: build cnigate ## the same + ipvlan, vlan and podnet, then the published report docs/conformance/
	ci/conformance.sh report

report-browser-test: ## the report pages in headless Chromium (installs chromium if missing)
	ci/report-browser-test.sh

lint: ## golangci-lint, actionlint, shellcheck, docs links and quoted figures
	ci/lint.sh

node-image: ## build the kind node image locally (no registry needed)
	ci/node-image.sh

cluster: build cnigate ## kind cluster with podnet loaded, left running
	ci/e2e.sh cluster

# Gate mode only when KUBECONFIG is given on the make command line: a KUBECONFIG merely
# exported in the shell must not point the e2e run at a real cluster by surprise.
e2e: build cnigate ## contract matrix on kind with CNI=podnet|bridge (or on KUBECONFIG=<file> given here)
	GATE_KUBECONFIG='$(if $(filter command line,$(origin KUBECONFIG)),$(KUBECONFIG))' ci/e2e.sh

e2e-scale: build cnigate ## the matrix's growth with the workers: make e2e WORKERS=2, 4, 8 one after another, then the table
	ci/e2e.sh scale

.PHONY: e2e-rollout
e2e-rollout: build cnigate ## the rollout gate on kind: podnet to a good candidate and back (0 resets), each of ROLLOUT_DEFECTS stopped at the canary
	ci/rollout.sh

e2e-clean: cnigate ## delete the e2e clusters, their leftovers and hermetic rules
	ci/e2e.sh clean

e2e-image-save: ## write the e2e test image as a tarball (for a gate cluster's registry)
	ci/e2e.sh image-save

bench: build cnigate ## podnet vs bridge+host-local vs the kernel floor; BASELINE=<podnet binary> [CANDIDATE=bin/podnet]: the regression gate (root)
	ci/bench.sh

.PHONY: bench-gate
bench-gate: build cnigate ## CI regression gate: bin/podnet vs the podnet of BENCH_BASE (default: merge base with origin/main, else HEAD~1), ADD/DEL/bursts (root)
	ci/bench-gate.sh

cluster-bench: build cnigate ## pod start-up on kind, podnet vs bridge+host-local: WORKERS=2 CB_PODS=100 CB_ROUNDS=1 (root, Docker)
	ci/cluster-bench.sh

clean: ## remove build outputs (keeps the cached node image)
	rm -rf bin _artifacts dist
