// Package k8sconformance is the e2e's optional upstream Kubernetes conformance
// stage (cnigate e2e --k8s-conformance, make e2e K8S_CONFORMANCE=1): after the
// matrix, against the same cluster, it runs the [sig-network] ... [Conformance]
// specs of an e2e.test built from the pinned k8s.io/kubernetes
// (ci/k8s-conformance.sh) and judges them against the CNI's known-failures list
// with the netns suite's mechanism and schema (internal/xfail). Black-box like
// the rest of the e2e: it runs a binary against a cluster.
package k8sconformance

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"
)

// DefaultE2ETest is where ci/k8s-conformance.sh puts e2e.test, relative to the
// repository root (ci/e2e.sh passes the absolute path).
const DefaultE2ETest = "_output/k8s-conformance/bin/e2e.test"

// Options configure the stage; they are flags of the e2e (matrix.Options).
type Options struct {
	Enabled bool
	// E2ETest is the e2e.test binary (ci/k8s-conformance.sh builds it, with
	// the ginkgo CLI beside it).
	E2ETest string
	// KnownFailures is a known-failures list ("<spec text> | <reason>" lines);
	// empty: the list shipped for the CNI (lists/<cni>.known-failures), none
	// for a CNI without one (every failure is new).
	KnownFailures string
	Focus, Skip   string
	// Procs is how many ginkgo processes run the specs (1: e2e.test alone).
	Procs   int
	Timeout time.Duration
}

// Register defines the options as flags of fs, each name prefixed by prefix.
func (o *Options) Register(fs *flag.FlagSet, prefix string) {
	p := func(name string) string { return prefix + "k8s-conformance" + name }
	fs.BoolVar(&o.Enabled, p(""), false, "after the matrix, run the upstream Kubernetes [sig-network] [Conformance] specs (e2e.test from ci/k8s-conformance.sh) against the same cluster, judged against the CNI's known-failures list; JUnit in <report-dir>/k8s-conformance/")
	fs.StringVar(&o.E2ETest, p("-e2e-test"), DefaultE2ETest, "the e2e.test binary of the k8s-conformance stage (ci/k8s-conformance.sh builds it and the test images; make e2e K8S_CONFORMANCE=1 runs it)")
	fs.StringVar(&o.KnownFailures, p("-known-failures"), "", "known-failures list of the k8s-conformance stage (spec text | why); empty: the one shipped for the CNI (e2e/k8sconformance/lists), none for other CNIs")
	fs.StringVar(&o.Focus, p("-focus"), `\[sig-network\].*\[Conformance\]`, "regexp of the upstream specs the k8s-conformance stage runs (ginkgo --focus)")
	fs.StringVar(&o.Skip, p("-skip"), `\[Serial\]|\[Disruptive\]`, "regexp of the upstream specs the k8s-conformance stage leaves out (ginkgo --skip)")
	fs.IntVar(&o.Procs, p("-procs"), 4, "ginkgo processes running the k8s-conformance specs in parallel (1: one e2e.test process)")
	fs.DurationVar(&o.Timeout, p("-timeout"), 30*time.Minute, "how long the k8s-conformance stage may run (ginkgo --timeout)")
}

// Validate checks the options before anything is created: a missing e2e.test
// fails the run at once, saying how to build it.
func (o *Options) Validate() error {
	if !o.Enabled {
		return nil
	}
	var errs []error
	if fi, err := os.Stat(o.E2ETest); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		errs = append(errs, fmt.Errorf("k8s-conformance-e2e-test %q: no executable e2e.test there: build it and the test images with ci/k8s-conformance.sh (make e2e K8S_CONFORMANCE=1 does it first)", o.E2ETest))
	} else if o.Procs > 1 {
		if _, err := os.Stat(o.ginkgo()); err != nil {
			errs = append(errs, fmt.Errorf("k8s-conformance-procs %d: no ginkgo CLI beside e2e.test (%s): ci/k8s-conformance.sh builds both, or use k8s-conformance-procs 1", o.Procs, o.ginkgo()))
		}
	}
	if o.KnownFailures != "" {
		if _, err := os.Stat(o.KnownFailures); err != nil {
			errs = append(errs, fmt.Errorf("k8s-conformance-known-failures: %w", err))
		}
	}
	for name, re := range map[string]string{"focus": o.Focus, "skip": o.Skip} {
		if _, err := regexp.Compile(re); err != nil {
			errs = append(errs, fmt.Errorf("k8s-conformance-%s %q: %w", name, re, err))
		}
	}
	if o.Focus == "" {
		errs = append(errs, errors.New("k8s-conformance-focus is empty: it would run every upstream spec of e2e.test"))
	}
	if o.Procs < 1 {
		errs = append(errs, fmt.Errorf("k8s-conformance-procs %d: at least 1", o.Procs))
	}
	if o.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("k8s-conformance-timeout %v: must be positive", o.Timeout))
	}
	return errors.Join(errs...)
}

// ginkgo is the ginkgo CLI ci/k8s-conformance.sh puts beside e2e.test.
func (o *Options) ginkgo() string { return filepath.Join(filepath.Dir(o.E2ETest), "ginkgo") }
