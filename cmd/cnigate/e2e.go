package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/cnigate/cnigate"
	"github.com/cnigate/cnigate/e2e/harness/cni"
	"github.com/cnigate/cnigate/e2e/matrix"
	"github.com/cnigate/cnigate/results"
)

func e2eVerb() verb {
	return verb{name: "e2e", short: "the cluster matrix on a kind cluster it creates, or on --kubeconfig's (root, Docker)",
		long: "Without --kubeconfig it creates the kind cluster --cluster from --node-image, installs --cni (podnet\n" +
			"from --agent-image), runs the matrix and deletes the cluster; with --kubeconfig it is existing-cluster mode:\n" +
			"nothing is created or installed (docs/e2e.md).\n\n" +
			"--test selects rows and cells by name: a row is \"Group/behaviour\" (--list prints them), a cell\n" +
			"\"Group/behaviour/cell\" (proto:from->to, its name in matrix.json); regular expressions, repeated\n" +
			"or comma-separated, !REGEX excluding. Cells not selected are reported as skipped.",
		example: "  cnigate e2e --agent-image cnigate/podnet-agent:$(git rev-parse --short HEAD)\n" +
			"  cnigate e2e --kubeconfig staging.yaml --image registry.example/cnigate/e2e-busybox:1.35 --image-pull-policy IfNotPresent\n" +
			"  cnigate e2e --kubeconfig staging.yaml --test '^Contract/,!UDP' --list\n" +
			"  cnigate e2e --kubeconfig staging.yaml --test '!Healing' --output json > matrix.json",
		define: func(fs *flag.FlagSet) runFunc {
			var e e2eCmd
			e.register(fs)
			return e.run
		}}
}

// e2eCmd is the e2e command line: the suite's options (matrix.Options, its
// flags registered by the package) and the testing package's.
type e2eCmd struct {
	o        matrix.Options
	timeout  string
	parallel int
	list     bool
	out      output
}

func (e *e2eCmd) register(fs *flag.FlagSet) {
	e.o.Register(fs, "")
	fs.StringVar(&e.timeout, "timeout", "40m", "the whole run's deadline (cells cut short by it are skipped, the run fails)")
	fs.IntVar(&e.parallel, "parallel", 0, "how many cells run at once (0: 2 per matrix worker, at least 4, as make e2e's E2E_PARALLEL)")
	fs.BoolVar(&e.list, "list", false, "print the rows --test selects and exit: nothing is created or contacted")
	e.out = outputFlag(fs)
}

// run runs the cluster matrix compiled into this binary. e2e-framework
// wants a *testing.T, so the suite runs under testing.Main (one top-level
// test, TestE2E, as in `go test ./e2e/`), which exits the process with the
// run's status once the suite (and its teardown) is done.
func (e *e2eCmd) run(ctx context.Context, c *call) error {
	format, err := e.out.format()
	if err != nil {
		return err
	}
	if e.list {
		if err := noArgs(c); err != nil {
			return err
		}
		return printRows(c.stdout, matrix.List(e.o.Tests), format == outputJSON)
	}
	if e.o.Cleanup {
		if err := noArgs(c); err != nil {
			return err
		}
		return matrix.Cleanup(ctx, e.o, c.stderr)
	}
	testArgs, err := e.resolve(c)
	if err != nil {
		return err
	}
	o := e.o
	suite, err := matrix.Suite(ctx, o)
	if err != nil {
		return usageError{err.Error()}
	}
	fmt.Fprintf(c.stderr, "cnigate e2e: %s, reports in %s\n", describeE2E(o), o.ReportDir)
	test := suite
	if format == outputJSON {
		// testing prints the cells' progress to fd 1: stderr's now; the
		// matrix, once the suite's finish steps wrote it, to stdout.
		doc, _, err := quietStdout(c.stdout)
		if err != nil {
			return err
		}
		test = func(t *testing.T) {
			// deferred: a failed setup ends suite(t) with t.Fatal (Goexit)
			// after its finish steps wrote the matrix
			defer func() {
				var m results.Matrix
				if err := results.ReadFile(filepath.Join(o.ReportDir, "matrix.json"), &m); err != nil {
					t.Errorf("--output json: %v", err)
					return
				}
				if err := writeJSON(doc, &m); err != nil {
					t.Errorf("--output json: %v", err)
				}
			}()
			suite(t)
		}
	}
	testing.Init()
	// The testing package reads its own flags from os.Args: verbose (the
	// cells' log lines), how many cells run at once as make e2e runs them,
	// and a deadline the suite keeps 3 minutes of for its teardown.
	os.Args = append([]string{os.Args[0], "-test.v"}, testArgs...)
	testing.Main(regexp.MatchString, []testing.InternalTest{{Name: "TestE2E", F: test}}, nil, nil)
	return nil // not reached: testing.Main exits
}

// resolve checks the command line and completes the suite's options; it
// returns the testing package's flags (-test.timeout, -test.parallel).
func (e *e2eCmd) resolve(c *call) ([]string, error) {
	o := &e.o
	if err := noArgs(c); err != nil {
		return nil, err
	}
	if e.parallel < 0 {
		return nil, usagef("--parallel %d: want a positive number, or 0 for the default", e.parallel)
	}
	parallel := e.parallel
	if parallel == 0 {
		parallel = matrix.DefaultParallel(o.Workers)
	}
	testArgs := []string{"-test.parallel=" + strconv.Itoa(parallel), "-test.timeout=" + e.timeout}
	if o.Version == "" {
		o.Version = buildVersion()
	}
	if !o.Existing() && o.NodeImage == "" {
		o.NodeImage = cnigate.PublishedNodeImage()
	}
	if o.Existing() && c.changed("node-image") {
		return nil, usagef("--node-image creates a kind cluster; on an existing cluster (--kubeconfig, --context, --existing-cluster) none is created")
	}
	if o.ReportName == "" {
		o.ReportName = "e2e-" + o.CNI
		if o.Existing() {
			o.ReportName = "e2e-gate"
		}
	}
	if !o.Existing() && o.CNI == cni.NamePodnet && o.AgentImage == "" {
		return nil, usagef("--agent-image: podnet is deployed from its image (`make image` in a clone builds it; `make image-save` writes it as a tarball to docker load here)")
	}
	return testArgs, nil
}

// printRows is e2e --list.
func printRows(w io.Writer, rows []matrix.Listed, asJSON bool) error {
	if asJSON {
		if rows == nil {
			rows = []matrix.Listed{}
		}
		return writeJSON(w, rows)
	}
	for _, r := range rows {
		line := r.Group + "/" + r.Behaviour
		if r.Cells != "all" {
			line += "   (only the cells matching --test)"
		}
		fmt.Fprintln(w, line)
	}
	return nil
}

func describeE2E(o matrix.Options) string {
	if o.Existing() {
		return "existing-cluster mode (nothing is created or installed)"
	}
	return fmt.Sprintf("kind cluster %s (%d workers, node image %s), CNI %s, test image %s", o.Cluster, o.Workers, o.NodeImage, o.CNI, o.Image)
}
