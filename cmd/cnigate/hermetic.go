package main

import (
	"context"
	"fmt"
	"io"

	"github.com/cnigate/cnigate/e2e/harness"
)

// runHermeticClean removes the hermetic rules the e2e harness puts on the
// host (a killed run, or a `make cluster` cluster deleted by hand, leaves
// them): the one implementation, which ci/e2e.sh calls too.
func runHermeticClean(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("hermetic-clean", stderr)
	cluster := fs.String("cluster", "", "remove only this kind cluster's rules (default: every cnigate-e2e hermetic rule)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	removed, err := harness.RemoveHermeticRules(*cluster)
	for _, r := range removed {
		_, _ = fmt.Fprintln(stdout, "removed hermetic rule:", r)
	}
	return err
}
