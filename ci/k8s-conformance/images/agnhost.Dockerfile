# registry.k8s.io/e2e-test-images/agnhost, built locally for the upstream conformance stage
# (ci/k8s-conformance.sh): as upstream's test/images/agnhost/Dockerfile, but on the Debian rootfs
# (FROM line written by the script) that carries the tools the specs exec in agnhost pods (curl,
# nc, dig, nslookup, wget, ip), and agnhost built from the pinned k8s.io/kubernetes.
COPY agnhost localhost.crt localhost.key /
RUN ln -s agnhost /agnhost-2 && mkdir /uploads && \
    echo 'user-defined-in-image:x:1000:1000::/:/usr/sbin/nologin' >>/etc/passwd && \
    echo 'user-defined-in-image:x:1000:' >>/etc/group && \
    echo 'group-defined-in-image:x:50000:user-defined-in-image' >>/etc/group
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
EXPOSE 80 8080 8081 9376 5000
ENTRYPOINT ["/agnhost"]
CMD ["pause"]
