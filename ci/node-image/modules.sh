# shellcheck shell=bash
# ci/node-image/modules.sh: the wrapper modules under ci/node-image (kubernetes, etcd, coredns,
# crictl) against ci/versions.sh. `ci/node-image.sh sync-modules` regenerates them;
# check_modules refuses a build while one disagrees. Sourced by ci/node-image.sh.

# upstream_gomod PATH VERSION: the go.mod file of an upstream module version (downloads it).
upstream_gomod() {
  go mod download -json "$1@$2" | jq -r '.GoMod // error("no GoMod for \(.Path)")'
}

sync_module() {
  local name=$1 dir=$NODE_DIR/$1 path=${MOD_PATH[$1]} version=${MOD_VERSION[$1]} upstream
  local go_line godebug
  log "sync $name: $path@$version"
  upstream=$(upstream_gomod "$path" "$version")

  # Keep upstream's language version and GODEBUG defaults: they set runtime behaviour of the
  # main module, which the wrapper now is. `tool` needs go >= 1.24.
  go_line=$(awk '$1 == "go" {print $2; exit}' "$upstream")
  godebug=$(awk '$1 == "godebug" {print}' "$upstream")
  [[ -n $godebug ]] || godebug="godebug default=go$(cut -d. -f1,2 <<<"$go_line")"
  if [[ $(printf '%s\n' "$go_line" 1.24 | sort -V | head -n 1) != 1.24 ]]; then go_line=1.24; fi

  local replaces=""
  if [[ $name == kubernetes ]]; then
    # k8s.io/kubernetes points its staging repos at ./staging/src/...; the published
    # k8s.io/<repo> v0.<minor>.<patch> are the same code.
    replaces=$(awk -v v="v0.${KUBERNETES_VERSION#v1.}" '$2 == "=>" && $3 ~ /^\.\/staging\// {printf "\t%s => %s %s\n", $1, $1, v}' "$upstream")
  fi
  mkdir -p "$dir"
  # shellcheck disable=SC2086 # MOD_TOOLS[name] is a space-separated list
  write_wrapper_gomod "$dir/go.mod" "ci/node-image.sh sync-modules from ci/versions.sh" \
    "Builds the commands of the tool block from $path $version." \
    "github.com/cnigate/cnigate/ci/node-image/$name" "$go_line" "$godebug" "$replaces" ${MOD_TOOLS[$name]}
  rm -f "$dir/go.sum"
  (cd "$dir" && go get "$path@$version" && go mod tidy) >&2
}

sync_modules() {
  ensure_commands jq=jq
  load_versions
  local name
  (($#)) || set -- "${WRAPPED[@]}"
  for name in "$@"; do
    [[ -n ${MOD_PATH[$name]:-} ]] || die "no wrapper module '$name' (have: ${WRAPPED[*]})"
    sync_module "$name"
  done
  check_modules
  log "done; review and commit: git diff --stat -- ci/node-image"
}

# check_modules: every wrapper module requires exactly the version ci/versions.sh pins.
check_modules() {
  local name have
  for name in "${WRAPPED[@]}"; do
    have=$(go mod edit -json "$NODE_DIR/$name/go.mod" |
      jq -r --arg p "${MOD_PATH[$name]}" '[.Require[]? | select(.Path == $p) | .Version][0] // "none"')
    [[ $have == "${MOD_VERSION[$name]}" ]] ||
      die "ci/node-image/$name/go.mod has ${MOD_PATH[$name]} $have, ci/versions.sh says ${MOD_VERSION[$name]}: run ci/node-image.sh sync-modules"
  done
}
