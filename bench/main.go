package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/containernetworking/cni/pkg/version"

	"github.com/cnigate/cnigate/netns-tests/cnitest"
)

// options are the command line.
type options struct {
	podnet, bridge, cniPath, floor, maxrss string
	podnetConf, bridgeConf                 string
	out                                    string
	n, burst, burstRounds, rssRuns         int
	network, subnet                        string
	mtu                                    int
	ipMasq                                 bool
	timeout                                time.Duration
}

func parseFlags() options {
	var o options
	flag.StringVar(&o.podnet, "podnet", "bin/podnet", "podnet binary")
	flag.StringVar(&o.bridge, "bridge", "_output/upstream-cni/bridge", "upstream bridge binary")
	flag.StringVar(&o.cniPath, "cni-path", "", "CNI_PATH for bridge, where host-local is (default: bridge's directory)")
	flag.StringVar(&o.floor, "floor", "_output/bench/floor", "floor binary (bench/floor)")
	flag.StringVar(&o.maxrss, "maxrss", "_output/bench/maxrss", "maxrss launcher binary (bench/maxrss)")
	flag.StringVar(&o.podnetConf, "podnet-conf", "netns-tests/testdata/podnet.json.tmpl", "podnet config template")
	flag.StringVar(&o.bridgeConf, "bridge-conf", "netns-tests/testdata/bridge-host-local.json.tmpl", "bridge + host-local config template")
	flag.StringVar(&o.out, "out", "_artifacts/bench.json", "where to write the figures")
	flag.IntVar(&o.n, "n", 200, "sequential ADDs (then as many DELs) per contender")
	flag.IntVar(&o.burst, "burst", 200, "concurrent ADDs (then DELs) per burst")
	flag.IntVar(&o.burstRounds, "burst-rounds", 3, "bursts per contender (the median is reported)")
	flag.IntVar(&o.rssRuns, "rss-runs", 5, "ADDs and DELs per contender measured for peak RSS")
	flag.StringVar(&o.network, "network", "10.99.0.0/16", "cluster pod network")
	flag.StringVar(&o.subnet, "subnet", "10.99.1.0/24", "node subnet, the one the pods share")
	flag.IntVar(&o.mtu, "mtu", 1500, "MTU")
	flag.BoolVar(&o.ipMasq, "ipmasq", true, "ipMasq for both plugins")
	flag.DurationVar(&o.timeout, "timeout", 2*time.Minute, "limit for one plugin process")
	flag.Parse()
	return o
}

func main() {
	o := parseFlags()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, o)
	stop()
	if err != nil {
		logf("bench failed: %v", err)
		os.Exit(1)
	}
}

func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "[%s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, a...))
}

func run(ctx context.Context, o options) (err error) {
	if os.Geteuid() != 0 {
		return errors.New("the benchmark creates network namespaces and must run as root: sudo make bench")
	}
	_, subnet, err := net.ParseCIDR(o.subnet)
	if err != nil {
		return fmt.Errorf("-subnet: %w", err)
	}
	ones, bits := subnet.Mask.Size()
	if usable := 1<<(bits-ones) - 3; o.n > usable || o.burst > usable || o.rssRuns > usable {
		return fmt.Errorf("-n, -burst and -rss-runs must fit the %d pod addresses of %s", usable, subnet)
	}
	if o.n < 1 || o.burst < 1 || o.burstRounds < 1 || o.rssRuns < 1 {
		return errors.New("-n, -burst, -burst-rounds and -rss-runs must be at least 1")
	}

	rep := &report{Machine: describeMachine(), Config: configOf(o)}
	rep.Machine.LoadAvg = append(rep.Machine.LoadAvg, loadNow("start"))
	logf("machine: %d cores, kernel %s, %s; load %s", rep.Machine.Cores, rep.Machine.Kernel, rep.Machine.CPU, rep.Machine.LoadAvg[0].LoadAvg)

	tmp, err := os.MkdirTemp("", "podnet-bench-")
	if err != nil {
		return err
	}
	namespaces := cnitest.NewNamespaces()
	var contenders []*contender
	defer func() {
		logf("cleanup: deleting %d contenders' netns and %s", len(contenders), tmp)
		for _, c := range contenders {
			err = errors.Join(err, c.close(namespaces))
		}
		if left := namespaces.Leftovers(); len(left) > 0 {
			err = errors.Join(err, fmt.Errorf("netns left behind: %v", left))
		}
		err = errors.Join(err, os.RemoveAll(tmp))
	}()

	pods := max(o.n, o.burst, o.rssRuns)
	specs, err := contenderSpecs(o, subnet)
	if err != nil {
		return err
	}
	for _, s := range specs {
		logf("setup %s: host netns, %d pod netns, data dir", s.name, pods)
		c, err := newContender(s, namespaces, filepath.Join(tmp, s.name), pods)
		if c != nil {
			contenders = append(contenders, c)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}

	b := &bench{o: o, contenders: contenders, rep: rep}
	for _, p := range []struct {
		name string
		f    func(context.Context) error
	}{
		{"warm-up", b.warmUp},
		{"sequential", b.sequential},
		{"burst", b.bursts},
		{"memory", b.memory},
	} {
		rep.Machine.LoadAvg = append(rep.Machine.LoadAvg, loadNow(p.name))
		load := rep.Machine.LoadAvg[len(rep.Machine.LoadAvg)-1].LoadAvg
		logf("=== %s (load %s)", p.name, load)
		before := sampleCPU()
		if err := p.f(ctx); err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
		use := cpuBetween(p.name, load, before, sampleCPU())
		rep.Machine.CPUUse = append(rep.Machine.CPUUse, use)
		logf("%s took %.0fs; cores used by the bench %.2f, by everything else %.2f, stolen %.2f, idle %.2f",
			p.name, use.Seconds, use.BenchCores, use.OthersCores, use.StealCores, use.IdleCores)
	}
	rep.Machine.LoadAvg = append(rep.Machine.LoadAvg, loadNow("end"))
	rep.finish(contenders)

	printTable(os.Stdout, rep)
	if err := rep.write(o.out); err != nil {
		return err
	}
	logf("wrote %s", o.out)
	return nil
}

func configOf(o options) config {
	return config{
		N: o.n, Burst: o.burst, BurstRounds: o.burstRounds, RSSRuns: o.rssRuns,
		Network: o.network, Subnet: o.subnet, MTU: o.mtu, IPMasq: o.ipMasq, Bridge: bridgeName,
		CNIVersion: version.Current(),
	}
}
