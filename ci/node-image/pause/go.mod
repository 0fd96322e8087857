module github.com/cnigate/cnigate/ci/node-image/pause

go 1.26.8
