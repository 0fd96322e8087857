module github.com/cnigate/cnigate/ci/ensure-docker/probe

go 1.26.8
