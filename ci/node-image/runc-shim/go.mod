module github.com/cnigate/cnigate/ci/node-image/runc-shim

go 1.26.8
