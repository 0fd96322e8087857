# The pod sandbox image (ci/node-image/pause), laid out like registry.k8s.io/pause.
FROM scratch
COPY pause /pause
USER 65535:65535
ENTRYPOINT ["/pause"]
