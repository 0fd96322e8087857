package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"testing"

	"github.com/cnigate/cnigate"
	"github.com/cnigate/cnigate/e2e/harness"
	"github.com/cnigate/cnigate/e2e/matrix"
)

// runE2E runs the cluster matrix compiled into this binary. e2e-framework
// wants a *testing.T, so the suite runs under testing.Main (one top-level
// test, TestE2E, as in `go test ./e2e/`), which exits the process with the
// run's status once the suite (and its teardown) is done.
func runE2E(ctx context.Context, args []string, _, stderr io.Writer) error {
	o, testArgs, err := e2eOptions(args, stderr)
	if err != nil {
		return err
	}
	if o.Cleanup {
		return matrix.Cleanup(ctx, o, stderr)
	}
	suite, err := matrix.Suite(ctx, o)
	if err != nil {
		return usageError{err.Error()}
	}
	fmt.Fprintf(stderr, "cnigate e2e: %s, reports in %s\n", describeE2E(o), o.ReportDir)
	testing.Init()
	// The testing package reads its own flags from os.Args: verbose (the
	// cells' log lines), how many cells run at once as make e2e runs them,
	// and a deadline the suite keeps 3 minutes of for its teardown.
	os.Args = append([]string{os.Args[0], "-test.v"}, testArgs...)
	testing.Main(regexp.MatchString, []testing.InternalTest{{Name: "TestE2E", F: suite}}, nil, nil)
	return nil // not reached: testing.Main exits
}

// e2eOptions parses the command line into the suite's options and the
// testing package's flags (-test.timeout, -test.parallel).
func e2eOptions(args []string, stderr io.Writer) (matrix.Options, []string, error) {
	fs := newFlags("e2e", stderr)
	var o matrix.Options
	o.Register(fs, "")
	timeout := fs.String("timeout", "40m", "the whole run's deadline (cells cut short by it are skipped, the run fails)")
	parallel := fs.Int("parallel", 0, "how many cells run at once (0: 2 per matrix worker, at least 4, as make e2e's E2E_PARALLEL)")
	if err := parse(fs, args); err != nil {
		return o, nil, err
	}
	if fs.NArg() > 0 {
		return o, nil, usagef("unexpected argument %q", fs.Arg(0))
	}
	if *parallel < 0 {
		return o, nil, usagef("--parallel %d: want a positive number, or 0 for the default", *parallel)
	}
	if *parallel == 0 {
		*parallel = matrix.DefaultParallel(o.Workers)
	}
	testArgs := []string{"-test.parallel=" + strconv.Itoa(*parallel), "-test.timeout=" + *timeout}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if o.Version == "" {
		o.Version = buildVersion()
	}
	if !o.Existing() && o.NodeImage == "" {
		o.NodeImage = cnigate.PublishedNodeImage()
	}
	if o.Existing() && set["node-image"] {
		return o, nil, usagef("--node-image creates a kind cluster; on an existing cluster (--kubeconfig, --context, --existing-cluster) none is created")
	}
	if o.ReportName == "" {
		o.ReportName = "e2e-" + o.CNI
		if o.Existing() {
			o.ReportName = "e2e-gate"
		}
	}
	if !o.Existing() && !o.Cleanup && o.CNI == harness.CNIPodnet && o.AgentImage == "" {
		return o, nil, usagef("--agent-image: podnet is deployed from its image (`make image` in a clone builds it; `make image-save` writes it as a tarball to docker load here)")
	}
	return o, testArgs, nil
}

func describeE2E(o matrix.Options) string {
	if o.Existing() {
		return "existing-cluster mode (nothing is created or installed)"
	}
	return fmt.Sprintf("kind cluster %s (%d workers, node image %s), CNI %s, test image %s", o.Cluster, o.Workers, o.NodeImage, o.CNI, o.Image)
}
