# kube-apiserver, kube-controller-manager, kube-scheduler and etcd: one static binary in
# /usr/local/bin, as in the registry.k8s.io images. kubeadm's static pods start them by
# name, hence PATH; everything else they need is mounted by kubeadm.
FROM scratch
ARG BINARY
COPY ${BINARY} /usr/local/bin/${BINARY}
# an empty /tmp for whatever writes temporary files
WORKDIR /tmp
WORKDIR /
ENV PATH=/usr/local/bin:/usr/bin:/bin
