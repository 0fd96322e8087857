# registry.k8s.io/e2e-test-images/busybox, built locally for the upstream conformance stage
# (ci/k8s-conformance.sh): Debian's static busybox (fetch_busybox, ci/lib.sh) FROM scratch.
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN ["/bin/busybox", "mkdir", "-p", "/tmp"]
ENV PATH=/bin
CMD ["sh"]
