# registry.k8s.io/e2e-test-images/nginx, built locally for the upstream conformance stage
# (ci/k8s-conformance.sh). The [sig-network] Conformance specs only need a pod that runs and
# serves HTTP on port 80 (the EndpointSlice specs): a stand-in, agnhost's netexec on 80, not nginx
# (FROM line, the agnhost image, written by the script).
ENTRYPOINT ["/agnhost", "netexec", "--http-port=80"]
CMD []
