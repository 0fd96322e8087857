# shellcheck shell=bash
# Step "rootfs": the node's Debian (debootstrap --variant=minbase + NODE_PACKAGES),
# `docker import`ed as ROOTFS_IMAGE, cached per suite and package list (as an image).

step_rootfs() {
  local key dir
  key=$(printf '%s\n' "$DEBIAN_SUITE" "${NODE_PACKAGES[@]}" | sha256sum | cut -c1-10)
  ROOTFS_IMAGE=cnigate/node-rootfs:$DEBIAN_SUITE-$key
  if image_exists "$ROOTFS_IMAGE"; then
    log "  rootfs: cached ($ROOTFS_IMAGE)"
    return 0
  fi
  ensure_commands debootstrap=debootstrap
  dir=$WORK/rootfs
  unmount_under "$dir"
  rm -rf --one-file-system "$dir"
  run_with_progress "debootstrap $DEBIAN_SUITE" "$WORK/logs/debootstrap.log" \
    debootstrap --variant=minbase --include="$(IFS=,; echo "${NODE_PACKAGES[*]}")" \
    "$DEBIAN_SUITE" "$dir" "$DEBIAN_MIRROR"
  unmount_under "$dir"
  rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* "$dir"/var/log/*.log
  log "  rootfs: $(du -sh --one-file-system "$dir" | cut -f1), importing as $ROOTFS_IMAGE"
  # shellcheck disable=SC2016 # $1/$2 expand in the inner bash
  run_with_progress "docker import" "$WORK/logs/rootfs-import.log" bash -c \
    'tar -C "$1" --numeric-owner --one-file-system --exclude="./dev/*" --exclude="./proc/*" --exclude="./sys/*" -cf - . |
       docker import - "$2"' _ "$dir" "$ROOTFS_IMAGE"
  rm -rf --one-file-system "$dir"
}

# unmount_under DIR: undo mounts an interrupted debootstrap may leave behind.
unmount_under() {
  local m
  [[ -d $1 ]] || return 0
  awk -v d="$1/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r | while read -r m; do
    umount -l "$m" || true
  done
}
