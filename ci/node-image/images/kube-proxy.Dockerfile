# kube-proxy with the userspace tools its iptables and nftables modes exec: iptables (nft and
# legacy backends), nft and conntrack, copied with their libraries from the node's Debian
# rootfs; busybox (Debian's busybox-static) for /bin/sh; and iptables-wrapper, which picks the
# backend the node already uses (as kubernetes-sigs/iptables-wrappers does upstream).
ARG ROOTFS_IMAGE
FROM ${ROOTFS_IMAGE} AS collect
COPY busybox iptables-wrapper /tmp/
RUN set -eu; \
    copy_with_libs() { \
      for f in "$@"; do \
        cp -a --parents "$f" /out; \
        ldd "$f" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' \
          | while read -r lib; do cp -L --parents "$lib" /out; done; \
      done; \
    }; \
    mkdir -p /out/bin /out/etc /out/tmp /out/run /out/var/run /out/usr/sbin /out/usr/local/bin; \
    copy_with_libs /usr/sbin/xtables-nft-multi /usr/sbin/xtables-legacy-multi /usr/sbin/nft /usr/sbin/conntrack; \
    for d in /usr/lib/*-linux-gnu/xtables; do \
      cp -a --parents "$d" /out; \
      copy_with_libs "$d"/*.so; \
    done; \
    cp -a /etc/ethertypes /etc/protocols /etc/services /out/etc/ 2>/dev/null || true; \
    cd /out/usr/sbin; \
    for mode in nft legacy; do \
      for cmd in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do \
        ln -s "xtables-$mode-multi" "$cmd-$mode"; \
      done; \
    done; \
    install -m 0755 /tmp/iptables-wrapper /out/usr/sbin/iptables-wrapper; \
    for cmd in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do \
      ln -s iptables-wrapper "$cmd"; \
    done; \
    install -m 0755 /tmp/busybox /out/bin/busybox; \
    for applet in $(/out/bin/busybox --list); do \
      [ -e "/out/bin/$applet" ] || ln -s busybox "/out/bin/$applet"; \
    done; \
    chmod 1777 /out/tmp; \
    du -sh /out

FROM scratch
COPY --from=collect /out/ /
COPY kube-proxy /usr/local/bin/kube-proxy
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
ENTRYPOINT ["/usr/local/bin/kube-proxy"]
