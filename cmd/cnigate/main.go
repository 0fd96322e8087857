package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// usageError is a bad command line: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

// errFailed is a run that worked but found failures: exit status 1, already reported.
var errFailed = errors.New("failed")

type command struct {
	name, args, summary string
	run                 func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands = []command{
	{"version", "[--json]", "print cnigate's version and the versions it pins", runVersion},
	{"report", "e2e|bench|cluster-bench|conformance|rollout --in FILE [--report-dir DIR] [--name NAME] | e2e-scale DIR...", "render a run's JSON as JUnit XML, JSON, Markdown and HTML; e2e-scale: the matrix's growth over several e2e runs", runReport},
	{"conformance", "--plugin PATH --netconf FILE|--conflist FILE [--cni-path DIR] [--profile FILE] [--labels EXPR] [--known-failures FILE] [--report-dir DIR]", "run the netns conformance suite against a CNI plugin binary (root)", runConformance},
	{"publish", "--run PLUGIN=GINKGO_JSON [--run ...] [--known PLUGIN=FILE ...] [--out DIR]", "write the published conformance report of several plugins (docs/conformance)", runPublish},
	{"e2e", "[--kubeconfig FILE] [--cni podnet|bridge] [--ip-family ipv4|ipv6|dual] [--workers N] [--parallel N] [--timeout D] [--node-image REF] [--agent-image REF] [--image REF] [--report-dir DIR] (-h: all)", "the cluster matrix on a kind cluster it creates, or on --kubeconfig's (root, Docker)", runE2E},
	{"bench", "--plugin [NAME=]PATH --netconf FILE [--plugin ...] | --contenders FILE  [--baseline NAME] [--report-dir DIR] | --cluster CLUSTER-BENCH-FLAGS", "benchmark CNI plugins as a runtime runs them (root); --cluster first: cluster-bench", runBench},
	{"hermetic-clean", "[--cluster NAME]", "remove the e2e harness's hermetic drop rules from the host (root)", runHermeticClean},
	{"rollout", "--kubeconfig FILE --image CANDIDATE [--namespace NS] [--daemonset NAME] [--container NAME] [--canary NODE] [--downgrade=false] [--report-dir DIR] | --watch-only [--duration D] (-h: all, thresholds)", "gate a CNI DaemonSet's rollout node by node under live traffic, and back", runRollout},
	{"manifest", "--image REF --network CIDR [--network6 CIDR] [--mtu N] [--routes node|none] [--uninstall [--node NODE]] [-o FILE] (-h: all)", "render the manifest that deploys podnet (the podnet-agent DaemonSet) on a cluster", runManifest},
	{"cnis", "[--install NAME | --ci local|github]", "the CNIs the e2e can install (the table ci/e2e.sh, .ci/run and the GitHub workflow follow)", runCNIs},
	{"cluster-bench", "--kubeconfig FILE [--cluster NAME] [--workers N] [--pods N] [--rounds N] [--plugin PATH] [--cni-bin DIR] [--report-dir DIR]", "pod start-up through podnet vs bridge+host-local on a kind cluster (root, Docker)", runClusterBench},
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: cnigate COMMAND [flags]   (cnigate COMMAND -h for its flags)")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-14s %s\n                 %s\n", c.name, c.summary, c.args)
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, args[1:], stdout, stderr)
		var ue usageError
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.As(err, &ue):
			fmt.Fprintf(stderr, "cnigate %s: %v\nusage: cnigate %s %s\n", c.name, err, c.name, c.args)
			return 2
		case errors.Is(err, errFailed):
			return 1
		case errors.Is(err, errHostUnsupported):
			return 3
		default:
			fmt.Fprintf(stderr, "cnigate %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "cnigate: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}

// newFlags is a flag set that reports its errors as usage errors.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("cnigate "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parse parses args, turning flag errors into usage errors.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	return nil
}
