#!/usr/bin/env bash
# make release: static cnigate and podnet for linux/amd64 and linux/arm64 in dist/, named
# <program>-<version>-linux-<arch>, with SHA256SUMS and an SBOM per binary (<binary>.sbom.txt:
# `go version -m`, the modules linked in). VERSION (default: git describe, so a `v*` tag names
# the release) and the commit are stamped into both (internal/buildinfo). Reproducible: -trimpath
# and an empty build ID, so the same commit builds the same bytes (SHA256SUMS compares).
# dist/cnigate.krew.yaml is the krew manifest (ci/krew/cnigate.yaml.tmpl; RELEASE_BASE_URL: where
# the binaries are downloaded from, default the GitHub release of VERSION).
# The release job of .github/workflows/ci.yml attaches dist/* to the tag's release.
set -o errexit -o nounset -o pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=ci/lib.sh
source "$REPO_ROOT/ci/lib.sh"
cd "$REPO_ROOT"
VERSION=${VERSION:-$(git describe --tags --always --dirty)}
COMMIT=$(git rev-parse HEAD)
ldflags="-buildid= $(stamp_ldflags "$VERSION" "$COMMIT")"

rm -rf dist && mkdir -p dist
for arch in amd64 arm64; do
  phase "build $VERSION linux/$arch"
  for prog in cnigate:./cmd/cnigate podnet:./plugin; do
    out=dist/${prog%%:*}-$VERSION-linux-$arch
    CGO_ENABLED=0 GOOS=linux GOARCH=$arch go build -trimpath -buildvcs=false -ldflags "$ldflags" -o "$out" "${prog#*:}"
    go version -m "$out" | sed "s#^dist/##" >"$out.sbom.txt"
  done
done
# The krew manifest (kubectl cnigate): krew installs from archives, so each cnigate binary is
# also a reproducible tar.gz (fixed order, mtime and owner; gzip without name and time).
for arch in amd64 arm64; do
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C dist -cf - "cnigate-$VERSION-linux-$arch" |
    gzip -n -9 >"dist/cnigate-$VERSION-linux-$arch.tar.gz"
done
base_url=${RELEASE_BASE_URL:-https://github.com/cnigate/cnigate/releases/download/$VERSION}
sed -e "s#BASE_URL#$base_url#g" -e "s#VERSION#$VERSION#g" \
  -e "s#SHA256_AMD64#$(sha256sum "dist/cnigate-$VERSION-linux-amd64.tar.gz" | cut -d' ' -f1)#" \
  -e "s#SHA256_ARM64#$(sha256sum "dist/cnigate-$VERSION-linux-arm64.tar.gz" | cut -d' ' -f1)#" \
  ci/krew/cnigate.yaml.tmpl | grep -v '^#' >dist/cnigate.krew.yaml
(cd dist && sha256sum -- * >SHA256SUMS)
phase_summary
log "dist/: $(cd dist && echo *)"
