package matrix

import (
	"context"
	"fmt"

	"k8s.io/klog/v2"

	"github.com/cnigate/cnigate/e2e/harness/nodenet"
)

const (
	// breakLossyNode: worker 1 drops lossyShare of the packets it forwards
	// (docs/e2e.md, E2E_BREAK): exactly the Quality burst cells whose
	// packets it forwards turn red, each saying the loss it measured.
	breakLossyNode = "lossy-node"
	lossyShare     = 0.05
)

// breakLossy adds the drop rule on worker 1, in each family the cluster has.
func breakLossy(ctx context.Context, s *suite) error {
	if len(s.workers) == 0 {
		return fmt.Errorf("E2E_BREAK=%s: no worker", breakLossyNode)
	}
	w := s.workers[0]
	for _, v6 := range []bool{false, true} {
		if (v6 && !s.has6()) || (!v6 && !s.has4()) {
			continue
		}
		if err := nodenet.DropForwarded(ctx, w.Name, lossyShare, v6); err != nil {
			return fmt.Errorf("E2E_BREAK=%s: %w", breakLossyNode, err)
		}
	}
	klog.Infof("E2E_BREAK=%s: node %s drops %.0f%% of its forwarded packets (filter FORWARD, statistic random)", breakLossyNode, w.Name, 100*lossyShare)
	return nil
}
