package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/cnigate/cnigate/e2e/clusterbench"
	"github.com/cnigate/cnigate/e2e/harness/cni"
	kindconfig "github.com/cnigate/cnigate/kind-config"
	"github.com/cnigate/cnigate/report"
	"github.com/cnigate/cnigate/results"
)

// runClusterBench times pod start-up through podnet and the reference
// conflist on a running kind cluster (make cluster-bench creates it) and
// writes cluster-bench.json and its four report formats.
func clusterBenchVerb() verb {
	return verb{name: "cluster-bench", args: "--kubeconfig FILE", short: "pod start-up through podnet vs bridge+host-local on a kind cluster (root, Docker)",
		long: "make cluster-bench's runner against a running kind cluster (docs/bench.md). `bench --cluster FLAGS...`\n" +
			"is the same command.",
		example: "  cnigate cluster-bench --kubeconfig _output/kubeconfig-cb-e2e --cluster cb-e2e --pods 50",
		define:  clusterBenchFlags}
}

func clusterBenchFlags(fs *flag.FlagSet) runFunc {
	var o clusterbench.Options
	fs.StringVar(&o.Kubeconfig, "kubeconfig", "", "kubeconfig of the kind cluster (required)")
	fs.StringVar(&o.Cluster, "cluster", "cb-e2e", "kind cluster name (its nodes' CNI is switched and their stores read)")
	fs.IntVar(&o.Workers, "workers", kindconfig.DefaultWorkers, "workers to put pods on")
	fs.IntVar(&o.PodsPerWorker, "pods", 100, "pods per worker per burst")
	fs.IntVar(&o.Rounds, "rounds", 1, "bursts per CNI, interleaved podnet/bridge with alternating order")
	fs.StringVar(&o.Plugin, "plugin", "bin/podnet", "podnet binary installed on the nodes")
	fs.StringVar(&o.CNIBin, "cni-bin", "", "directory of reference CNI plugins, for nodes whose image lacks one")
	fs.StringVar(&o.Image, "image", "cnigate/e2e-busybox:1.35", "test image, already on the nodes")
	fs.StringVar(&o.PodNetwork, "pod-network", kindconfig.PodSubnet, "the cluster pod subnet")
	fs.DurationVar(&o.Timeout, "timeout", 10*time.Minute, "per burst: every pod Ready, then every pod gone and every store back")
	dir := fs.String("report-dir", "_artifacts", "where cluster-bench.json and the reports go")
	out := outputFlag(fs)
	return func(ctx context.Context, c *call) error {
		format, err := out.format()
		if err != nil {
			return err
		}
		if err := noArgs(c); err != nil {
			return err
		}
		return runClusterBench(ctx, o, *dir, format == outputJSON, c.stdout, c.stderr)
	}
}

func runClusterBench(ctx context.Context, o clusterbench.Options, dirName string, asJSON bool, stdout, stderr io.Writer) error {
	dir := &dirName
	switch {
	case o.Kubeconfig == "":
		return usagef("--kubeconfig is required")
	case o.Workers < 1 || o.PodsPerWorker < 1 || o.Rounds < 1:
		return usagef("--workers, --pods and --rounds must be at least 1")
	}
	logf := func(format string, a ...any) {
		fmt.Fprintf(stderr, "[%s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, a...))
	}
	start := time.Now()
	rounds, err := clusterbench.Run(ctx, o, logf)
	if err != nil {
		return err // no figures from a run that failed: pods that did not start or stores not back
	}
	res := clusterbench.Result(o, start, rounds)
	if err := results.WriteFile(filepath.Join(*dir, "cluster-bench.json"), res); err != nil {
		return err
	}
	paths, err := report.Write(*dir, "cluster-bench", report.FromClusterBench(res))
	if err != nil {
		return err
	}
	doc := stdout
	if asJSON {
		stdout = stderr
	}
	for _, c := range res.CNIs {
		fmt.Fprintf(stdout, "%-7s sandbox p50/p90/p99 %6.0f %6.0f %6.0f ms   ready p50/p90/p99 %6.0f %6.0f %6.0f ms   burst %.1f s   teardown %.1f s\n",
			c.CNI, c.Sandbox.P50, c.Sandbox.P90, c.Sandbox.P99, c.Ready.P50, c.Ready.P90, c.Ready.P99, c.Burst.P50/1000, c.Teardown.P50/1000)
	}
	verdict := "met"
	if !res.Target.Met {
		verdict = "NOT met"
	}
	fmt.Fprintf(stdout, "target %s: %.0f vs %.0f ms, %s\n", res.Target.What, res.Target.PodnetP99, res.Target.ReferenceP99, verdict)
	fmt.Fprintf(stdout, "wrote %s/cluster-bench.json %v (%s)\n", *dir, paths, cni.NamePodnet+" vs "+cni.NameBridge)
	if asJSON {
		return writeJSON(doc, res)
	}
	return nil
}
