package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/cnigate/cnigate/report"
	"github.com/cnigate/cnigate/results"
	"github.com/cnigate/cnigate/rollout"
)

// runRollout is the rollout gate (rollout/, docs/rollout.md): a DaemonSet
// switched to a candidate image node by node under live traffic, or, with
// --watch-only, the live traffic alone through someone else's rollout.
func rolloutVerb() verb {
	return verb{name: "rollout", args: "--kubeconfig FILE --image CANDIDATE | --watch-only", short: "gate a CNI DaemonSet's rollout node by node under live traffic, and back",
		long: "Switches the DaemonSet's container to the candidate image one node at a time (canary first,\n" +
			"control plane last) under live traffic between pods on every worker, checks each node, stops\n" +
			"and puts the node back at the first failure, then rolls back the same way (--downgrade).\n" +
			"The limits are per node's switch window. --watch-only changes nothing: it watches the traffic\n" +
			"through someone else's rollout. See docs/rollout.md.",
		example: "  cnigate rollout --kubeconfig kc.yaml --image registry.example/podnet-agent:v1.2.4\n" +
			"  cnigate rollout --kubeconfig kc.yaml --image registry.example/podnet-agent:v1.2.4 --test '!udp$' --list\n" +
			"  cnigate rollout --kubeconfig kc.yaml --watch-only --duration 10m --output json > rollout.json",
		define: rolloutFlags}
}

func rolloutFlags(fs *flag.FlagSet) runFunc {
	var c rollout.Config
	fs.StringVar(&c.Kubeconfig, "kubeconfig", "", "kubeconfig of the cluster (required)")
	fs.StringVar(&c.Context, "context", "", "the kubeconfig's context to use (default: its current context)")
	fs.StringVar(&c.Namespace, "namespace", "podnet-system", "namespace of the CNI's DaemonSet (the defaults are podnet's manifest, deploy/)")
	fs.StringVar(&c.DaemonSet, "daemonset", "podnet-agent", "the CNI's DaemonSet")
	fs.StringVar(&c.Container, "container", "agent", "the container of the DaemonSet whose image is switched")
	fs.StringVar(&c.Image, "image", "", "the candidate image (required unless --watch-only)")
	fs.StringVar(&c.Canary, "canary", "", "the canary node, switched first (default: the first worker by name; control-plane nodes go last)")
	fs.BoolVar(&c.Downgrade, "downgrade", true, "after the upgrade, roll every node back to the old image the same way, with the same checks")
	fs.StringVar(&c.TestImage, "test-image", "cnigate/e2e-busybox:1.35", "image with the probe (e2e/probe) for the traffic and check pods")
	fs.StringVar(&c.ImagePullPolicy, "image-pull-policy", "IfNotPresent", "pull policy of the test image: Always, IfNotPresent or Never")
	fs.DurationVar(&c.Interval, "interval", 100*time.Millisecond, "one message per interval on every long-lived TCP connection and UDP stream")
	fs.DurationVar(&c.ConnectInterval, "connect-interval", 200*time.Millisecond, "one new connection per interval per target")
	fs.StringVar(&c.External, "external", "", "HOST:PORT of a TCP echo outside the cluster (e.g. `probe stream-server` in a container) every new pod must reach: the node's masquerading (empty: not checked)")
	fs.StringVar(&c.ReservationsDir, "reservations-dir", "", "host directory of the CNI's IPAM store, one file per reserved IP (podnet: /var/lib/cni/podnet/podnet, host-local: /var/lib/cni/networks/NAME): after each node it must hold exactly the node's pod IPs (empty: not checked)")
	fs.BoolVar(&c.WatchOnly, "watch-only", false, "change nothing: start the traffic, let you roll out (e.g. helm upgrade), stop at --duration or Ctrl-C, judge")
	fs.DurationVar(&c.Duration, "duration", 0, "--watch-only: how long to watch (0: until Ctrl-C)")
	c.Thresholds.Register(fs)
	dir := fs.String("report-dir", "_artifacts/rollout", "where rollout.json and the reports (rollout.{junit.xml,report.json,md,html}) go")
	fs.Var(&c.Tests, "test", "only the node checks whose name matches one of these regular expressions (repeat, or comma-separate; !REGEX excludes); a new pod's start and the check pods' deletion always run (--list)")
	list := fs.Bool("list", false, "print the node checks --test selects (NODE, OTHER: the nodes) and exit: nothing is contacted")
	out := outputFlag(fs)
	return func(ctx context.Context, cl *call) error {
		format, err := out.format()
		if err != nil {
			return err
		}
		if err := noArgs(cl); err != nil {
			return err
		}
		if *list {
			names := []string{}
			for _, n := range rollout.CheckNames(c.External != "", c.ReservationsDir != "") {
				if strings.HasSuffix(n, "(always)") || c.Tests.Match(n) {
					names = append(names, n)
				}
			}
			if format == outputJSON {
				return writeJSON(cl.stdout, names)
			}
			_, err := fmt.Fprintln(cl.stdout, strings.Join(names, "\n"))
			return err
		}
		return runRollout(ctx, c, *dir, format == outputJSON, cl.stdout, cl.stderr)
	}
}

func runRollout(ctx context.Context, c rollout.Config, dirName string, asJSON bool, stdout, stderr io.Writer) error {
	dir := &dirName
	doc := stdout
	if asJSON { // stdout is the document alone
		stdout = stderr
	}
	if c.Kubeconfig == "" {
		return usagef("--kubeconfig is required")
	}
	if c.WatchOnly {
		c.Namespace, c.DaemonSet, c.Container = "", "", "" // not touched, not read
	}
	if err := c.Validate(); err != nil {
		return usageError{strings.ReplaceAll(err.Error(), "\n", "; ")}
	}
	c.Progress = func(format string, a ...any) {
		fmt.Fprintf(stderr, "[%s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, a...))
	}
	res, runErr := rollout.Run(ctx, c)
	if res == nil {
		return runErr
	}
	if err := results.WriteFile(filepath.Join(*dir, "rollout.json"), res); err != nil {
		return err
	}
	paths, err := report.WriteRollout(*dir, res)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s %s\n", filepath.Join(*dir, "rollout.json"), strings.Join(paths, " "))
	if asJSON {
		if err := writeJSON(doc, res); err != nil {
			return err
		}
	}
	switch {
	case runErr != nil:
		return runErr
	case !res.Passed:
		fmt.Fprintf(stdout, "rollout FAILED: %s\n", res.Failure)
		return errFailed
	}
	fmt.Fprintln(stdout, "rollout passed")
	return nil
}
