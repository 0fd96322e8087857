// Command podnet-agent is podnet's node agent (package agent, docs/agent.md):
// `run` on every node as a DaemonSet pod, `uninstall` to remove what it put
// on a node, `version` to print its version and commit.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/cnigate/cnigate/agent"
)

// paths are the flags run and uninstall share; the defaults are the
// manifest's mounts.
type paths struct {
	config, sourceDir, cniBinDir, cniConfDir string
}

func (p *paths) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&p.config, "config", "/etc/podnet-agent/config.json", "cluster settings (ConfigMap podnet-config, key config.json)")
	f.StringVar(&p.sourceDir, "source-dir", "/opt/podnet/bin", "directory of the CNI binaries to install (podnet, loopback, portmap)")
	f.StringVar(&p.cniBinDir, "cni-bin-dir", "/host/opt/cni/bin", "the host's CNI binary directory")
	f.StringVar(&p.cniConfDir, "cni-conf-dir", "/host/etc/cni/net.d", "the host's CNI conf directory")
}

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := newRootCmd(log).Execute(); err != nil {
		log.Error("podnet-agent failed", "err", err)
		os.Exit(1)
	}
}

func newRootCmd(log *slog.Logger) *cobra.Command {
	root := &cobra.Command{
		Use:           "podnet-agent",
		Short:         "podnet's node agent: installs podnet, owns the routes between nodes' pod subnets, heals the node",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(runCmd(log), uninstallCmd(log), &cobra.Command{
		Use:   "version",
		Short: "print the version and commit",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintf(cmd.OutOrStdout(), "podnet-agent %s (commit %s)\n", agent.Version, agent.Commit)
		},
	})
	return root
}

func runCmd(log *slog.Logger) *cobra.Command {
	var p paths
	var nodeName, listen, kubeconfig string
	var period time.Duration
	cmd := &cobra.Command{
		Use:   "run",
		Short: "reconcile this node until stopped (the DaemonSet's command)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if nodeName == "" {
				return errors.New("--node-name is empty and env NODE_NAME is not set (the DaemonSet sets it from spec.nodeName)")
			}
			if period <= 0 {
				return fmt.Errorf("--reconcile-period %v must be positive", period)
			}
			cfg, err := agent.LoadConfig(p.config)
			if err != nil {
				return err
			}
			client, err := kubeClient(kubeconfig)
			if err != nil {
				return err
			}
			a, err := agent.New(agent.Options{
				NodeName: nodeName, Config: cfg, SourceDir: p.sourceDir, CNIBinDir: p.cniBinDir,
				CNIConfDir: p.cniConfDir, Period: period, Client: client, Log: log,
			})
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			lis, err := net.Listen("tcp", listen)
			if err != nil {
				return fmt.Errorf("--listen %s: %w", listen, err)
			}
			srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second}
			go func() {
				if err := srv.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
					log.Error("health/metrics server stopped", "err", err)
					stop()
				}
			}()
			err = a.Run(ctx)
			shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(shutdown)
			return err
		},
	}
	p.register(cmd)
	f := cmd.Flags()
	f.StringVar(&nodeName, "node-name", os.Getenv("NODE_NAME"), "this node's name (default env NODE_NAME)")
	f.StringVar(&listen, "listen", ":9651", "address of /healthz, /readyz and /metrics")
	f.DurationVar(&period, "reconcile-period", 5*time.Second, "full reconcile at least this often (a deleted route is back within it)")
	f.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig file (in-cluster config when empty)")
	return cmd
}

func uninstallCmd(log *slog.Logger) *cobra.Command {
	var p paths
	var wait bool
	var listen string
	cmd := &cobra.Command{
		Use:   "uninstall",
		Short: "remove the conf, binaries, routes and iptables rules the agent put on this node (pods' state and sysctls stay)",
		Long: "uninstall removes what the agent put on this node. With --wait (the uninstall manifest's DaemonSet, " +
			"`cnigate manifest --uninstall`) it then answers /healthz and /readyz on --listen until SIGTERM, so the " +
			"pod is Ready once its node is clean; a failure exits non-zero and the kubelet retries.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := agent.LoadConfig(p.config)
			if err != nil {
				return err
			}
			if err := agent.Uninstall(agent.UninstallOptions{Config: cfg, CNIBinDir: p.cniBinDir, CNIConfDir: p.cniConfDir, Log: log}); err != nil {
				return err
			}
			log.Info("podnet removed from this node")
			if !wait {
				return nil
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			lis, err := net.Listen("tcp", listen)
			if err != nil {
				return fmt.Errorf("--listen %s: %w", listen, err)
			}
			done := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				_, _ = fmt.Fprintln(w, "ok: podnet removed from this node")
			})
			mux := http.NewServeMux()
			mux.Handle("/healthz", done)
			mux.Handle("/readyz", done)
			srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
			go func() {
				<-ctx.Done()
				_ = srv.Close()
			}()
			if err := srv.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	p.register(cmd)
	cmd.Flags().BoolVar(&wait, "wait", false, "after uninstalling, stay up answering /healthz and /readyz (for a DaemonSet) until SIGTERM")
	cmd.Flags().StringVar(&listen, "listen", ":9651", "with --wait: address of /healthz and /readyz")
	return cmd
}

func kubeClient(kubeconfig string) (kubernetes.Interface, error) {
	var cfg *rest.Config
	var err error
	if kubeconfig == "" {
		cfg, err = rest.InClusterConfig()
	} else {
		cfg, err = clientcmd.BuildConfigFromFlags("", kubeconfig)
	}
	if err != nil {
		return nil, fmt.Errorf("kubernetes client config: %w", err)
	}
	cfg.UserAgent = "podnet-agent/" + agent.Version
	return kubernetes.NewForConfig(cfg)
}
