package nodenet

import (
	"context"
	"fmt"
	"strconv"
)

// LossyComment marks the rule DropForwarded adds.
const LossyComment = "cnigate-e2e lossy-node"

// DropForwarded makes a kind node drop a random share (0 < share < 1) of
// the packets it forwards: one rule at the top of filter FORWARD (iptables,
// or ip6tables with v6) matching `statistic --mode random`, added with
// go-iptables in the node's network namespace. This kernel has no netem;
// the statistic match needs nothing but xt_statistic.
func DropForwarded(ctx context.Context, container string, share float64, v6 bool) error {
	if !(share > 0 && share < 1) {
		return fmt.Errorf("drop share %v: want 0 < share < 1", share)
	}
	return InContainerNetNS(ctx, container, func() error {
		ipt, err := iptablesFor(v6)
		if err != nil {
			return err
		}
		spec := []string{"-m", "statistic", "--mode", "random", "--probability", strconv.FormatFloat(share, 'f', -1, 64),
			"-m", "comment", "--comment", LossyComment, "-j", "DROP"}
		if err := ipt.Insert("filter", "FORWARD", 1, spec...); err != nil {
			return fmt.Errorf("container %s: insert the lossy FORWARD rule: %w", container, err)
		}
		return nil
	})
}
