module github.com/cnigate/cnigate/ci/ensure-docker/runc-shim

go 1.26.8
