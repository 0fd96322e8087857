#!/usr/bin/env bash
# make release: static cnigate and podnet for linux/amd64 and linux/arm64 in dist/, named
# <program>-<version>-linux-<arch>, with SHA256SUMS. VERSION (default: git describe) is stamped
# into cnigate. The release job of .github/workflows/ci.yml attaches dist/* to the tag's release.
set -o errexit -o nounset -o pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=ci/lib.sh
source "$REPO_ROOT/ci/lib.sh"
cd "$REPO_ROOT"
VERSION=${VERSION:-$(git describe --tags --always --dirty)}

rm -rf dist && mkdir -p dist
for arch in amd64 arm64; do
  phase "build $VERSION linux/$arch"
  CGO_ENABLED=0 GOOS=linux GOARCH=$arch go build -trimpath -ldflags "-X main.version=$VERSION" \
    -o "dist/cnigate-$VERSION-linux-$arch" ./cmd/cnigate
  CGO_ENABLED=0 GOOS=linux GOARCH=$arch go build -trimpath -o "dist/podnet-$VERSION-linux-$arch" ./plugin
done
(cd dist && sha256sum -- * >SHA256SUMS)
phase_summary
log "dist/: $(cd dist && echo *)"
