package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/cnigate/cnigate/e2e/harness/host"
)

// runHermeticClean removes the hermetic rules the e2e harness puts on the
// host (a killed run, or a `make cluster` cluster deleted by hand, leaves
// them): the one implementation, which ci/e2e.sh calls too.
func hermeticCleanVerb() verb {
	return verb{name: "hermetic-clean", short: "remove the e2e harness's hermetic drop rules from the host (root)",
		long:    "A killed run, or a `make cluster` cluster deleted by hand, leaves them (IPv4 and IPv6); each rule removed is printed.",
		example: "  cnigate hermetic-clean --cluster cnigate-e2e",
		define: func(fs *flag.FlagSet) runFunc {
			cluster := fs.String("cluster", "", "remove only this kind cluster's rules (default: every cnigate-e2e hermetic rule)")
			return func(_ context.Context, c *call) error {
				if err := noArgs(c); err != nil {
					return err
				}
				removed, err := host.RemoveHermeticRules(*cluster)
				for _, r := range removed {
					_, _ = fmt.Fprintln(c.stdout, "removed hermetic rule:", r)
				}
				return err
			}
		}}
}
