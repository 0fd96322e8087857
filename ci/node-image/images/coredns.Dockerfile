# CoreDNS as in registry.k8s.io/coredns/coredns: kubeadm's Deployment passes only args.
FROM scratch
COPY coredns /coredns
EXPOSE 53 53/udp
ENTRYPOINT ["/coredns"]
