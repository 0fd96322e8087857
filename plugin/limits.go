package main

import (
	"fmt"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
)

// maxContainerIDLen bounds CNI_CONTAINERID. The CNI spec sets no limit;
// runtimes use 64 hex digits. The ID goes into every reservation file, which
// the store reads at most 4 KiB of, and into the log line, so a longer one is
// refused at the door, before the store or anything else is touched.
const maxContainerIDLen = 1024

// withEnvLimits runs cmd only when the environment is within podnet's
// limits (beyond what skel checks): otherwise code 4, like skel's own
// refusals of a bad environment.
func withEnvLimits(cmd func(*skel.CmdArgs) error) func(*skel.CmdArgs) error {
	return func(args *skel.CmdArgs) error {
		if n := len(args.ContainerID); n > maxContainerIDLen {
			return types.NewError(types.ErrInvalidEnvironmentVariables,
				fmt.Sprintf("CNI_CONTAINERID is %d bytes long, at most %d", n, maxContainerIDLen), "")
		}
		return cmd(args)
	}
}
