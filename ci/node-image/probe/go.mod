module github.com/cnigate/cnigate/ci/node-image/probe

go 1.26.8
