# registry.k8s.io/e2e-test-images/jessie-dnsutils, built locally for the upstream conformance
# stage (ci/k8s-conformance.sh): the DNS specs' querier runs dig, getent and a shell loop; the
# Debian rootfs (FROM line written by the script) has them.
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
CMD ["/bin/sh"]
