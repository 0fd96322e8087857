package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/coreos/go-iptables/iptables"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"golang.org/x/sys/unix"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/cnigate/cnigate/plugin/rules"
)

// inNodeNetNS runs f on a thread in a new network namespace standing in for
// the node: iptables (a process forked from that thread) and netlink
// handles made there see only it. The thread is never unlocked: it ends
// with f, and its netns too.
func inNodeNetNS(t *testing.T, f func(h netlinksafe.Handle) error) {
	t.Helper()
	needRoot(t)
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		done <- func() error {
			if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
				return err
			}
			h, err := netlinksafe.NewHandle()
			if err != nil {
				return err
			}
			defer h.Close()
			if err := setupVeth(h); err != nil {
				return err
			}
			return f(h)
		}()
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestReconcileAndUninstall: a full reconcile puts binaries, conf, routes,
// rules (both families), sysctls and the ready stamp in place and heals a
// flushed rule; uninstall then removes exactly what the agent made: a
// foreign route, a foreign rule, a binary it did not install, one changed
// since it installed it, and the pods' store stay.
func TestReconcileAndUninstall(t *testing.T) {
	root := t.TempDir()
	dirs := map[string]string{}
	for _, d := range []string{"src", "bin", "conf", "data", "sysctl/net/ipv4", "sysctl/net/ipv6/conf/all", "sysctl/net/bridge"} {
		dirs[d] = filepath.Join(root, d)
		if err := os.MkdirAll(dirs[d], 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(path, content string) {
		if err := os.WriteFile(path, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range Binaries {
		write(filepath.Join(dirs["src"], b), b+" from the image")
	}
	write(filepath.Join(dirs["bin"], "bridge"), "someone else's plugin")
	dirs["sysctl"] = filepath.Join(root, "sysctl")
	for _, s := range []string{"net/ipv4/ip_forward", "net/ipv6/conf/all/forwarding", "net/bridge/bridge-nf-call-iptables", "net/bridge/bridge-nf-call-ip6tables"} {
		write(filepath.Join(dirs["sysctl"], s), "0\n")
	}
	storeDir := filepath.Join(dirs["data"], "podnet")
	if err := os.MkdirAll(storeDir, 0o700); err != nil {
		t.Fatal(err)
	}
	write(filepath.Join(storeDir, "10.244.0.2"), "c1\neth0\n") // a pod's reservation

	conf := fmt.Sprintf(`{"name":"podnet","network":"10.244.0.0/16","network6":"fd00:10:244::/56","dataDir":%q}`, dirs["data"])
	client := fake.NewClientset(
		node("self", []string{"10.244.0.0/24", "fd00:10:244::/64"}, "172.30.0.10", "fd00:30::10"),
		node("node-1", []string{"10.244.1.0/24", "fd00:10:244:1::/64"}, "172.30.0.11", "fd00:30::11"),
	)
	cfg := mustConfig(t, conf)
	foreignRule := []string{"-s", "10.9.0.0/16", "-m", "comment", "--comment", "someone else", "-j", "ACCEPT"}

	inNodeNetNS(t, func(h netlinksafe.Handle) error {
		addRoute(t, h, "10.200.0.0/24", "172.30.0.200", unix.RTPROT_STATIC)
		ipt, err := iptables.New()
		if err != nil {
			return err
		}
		if err := ipt.Append("filter", "FORWARD", foreignRule...); err != nil {
			return err
		}
		a, err := New(Options{
			NodeName: "self", Config: cfg, SourceDir: dirs["src"], CNIBinDir: dirs["bin"], CNIConfDir: dirs["conf"],
			Period: 1e9, Client: client, Log: testLog(t), SysctlRoot: dirs["sysctl"],
		})
		if err != nil {
			return err
		}
		defer a.routes.h.Close()
		startInformers(t, a)
		if err := a.Reconcile(context.Background()); err != nil {
			return fmt.Errorf("first reconcile: %w", err)
		}
		if !a.Ready() {
			return errors.New("not ready after a successful reconcile")
		}
		for _, b := range Binaries {
			if got, err := os.ReadFile(filepath.Join(dirs["bin"], b)); err != nil || string(got) != b+" from the image" {
				return fmt.Errorf("binary %s: %q, %w", b, got, err)
			}
		}
		if _, err := os.Stat(filepath.Join(dirs["conf"], ConflistName)); err != nil {
			return err
		}
		if _, err := os.Stat(filepath.Join(rules.AgentDir(dirs["data"]), rules.ReadyFile)); err != nil {
			return fmt.Errorf("ready stamp: %w", err)
		}
		if err := wantRoutes(h, t, "10.244.1.0/24 via 172.30.0.11", "fd00:10:244:1::/64 via fd00:30::11")(); err != nil {
			return err
		}
		for _, s := range []string{"net/ipv4/ip_forward", "net/ipv6/conf/all/forwarding", "net/bridge/bridge-nf-call-iptables", "net/bridge/bridge-nf-call-ip6tables"} {
			if got, _ := os.ReadFile(filepath.Join(dirs["sysctl"], s)); strings.TrimSpace(string(got)) != "1" {
				return fmt.Errorf("sysctl %s = %q", s, got)
			}
		}
		if got := testutil.ToFloat64(a.metrics.addresses.WithLabelValues("IPv4", "in_use")); got != 1 {
			return fmt.Errorf("podnet_agent_addresses IPv4 in_use %v, want 1", got)
		}
		if got := testutil.ToFloat64(a.metrics.addresses.WithLabelValues("IPv4", "free")); got != 252 {
			return fmt.Errorf("podnet_agent_addresses IPv4 free %v, want 252", got)
		}
		desired := DesiredRules(cfg, map[bool]netipPrefix{false: mustPrefix("10.244.0.0/24"), true: mustPrefix("fd00:10:244::/64")})
		checkRules := func(when string) error {
			var tables ruleTables
			listed, err := tables.list([]bool{false, true})
			if err != nil {
				return err
			}
			if p := DiffRules(cfg.Name, desired, listed); len(p.Add)+len(p.Delete) != 0 {
				return fmt.Errorf("%s: rules to add %v, to delete %v", when, p.Add, p.Delete)
			}
			return nil
		}
		if err := checkRules("after the first reconcile"); err != nil {
			return err
		}
		// Flushed behind the agent's back: the next reconcile puts it back;
		// a stable state changes nothing.
		r := desired[len(desired)-1]
		ipt6, err := iptables.New(iptables.IPFamily(iptables.ProtocolIPv6))
		if err != nil {
			return err
		}
		if err := ipt6.Delete(r.Table, r.Chain, r.Spec...); err != nil {
			return err
		}
		if err := a.Reconcile(context.Background()); err != nil {
			return err
		}
		if err := checkRules("after a rule was deleted"); err != nil {
			return err
		}

		// A binary changed since the agent installed it is not the agent's to remove.
		write(filepath.Join(dirs["bin"], "portmap"), "portmap from an OS package")
		// An agent killed mid-write left its temporary files.
		write(filepath.Join(dirs["bin"], ".podnet.podnet-agent-1234"), "half a podnet")
		write(filepath.Join(dirs["conf"], "."+ConflistName+".tmp-1234"), "half a conflist")
		if err := Uninstall(UninstallOptions{Config: cfg, CNIBinDir: dirs["bin"], CNIConfDir: dirs["conf"], Log: testLog(t)}); err != nil {
			return fmt.Errorf("uninstall: %w", err)
		}
		var left []string
		entries, _ := os.ReadDir(dirs["bin"])
		for _, e := range entries {
			left = append(left, e.Name())
		}
		if !slices.Equal(left, []string{"bridge", "portmap"}) {
			return fmt.Errorf("binaries left %v, want bridge and the changed portmap", left)
		}
		if entries, err := os.ReadDir(dirs["conf"]); err != nil || len(entries) != 0 {
			return fmt.Errorf("conf dir after uninstall: %v, %w", entries, err)
		}
		if _, err := os.Stat(rules.AgentDir(dirs["data"])); !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("agent state after uninstall: %w", err)
		}
		if _, err := os.Stat(filepath.Join(storeDir, "10.244.0.2")); err != nil {
			return fmt.Errorf("the pods' store after uninstall: %w", err)
		}
		if err := wantRoutes(h, t)(); err != nil {
			return fmt.Errorf("after uninstall: %w", err)
		}
		all, err := routeTable{h: h}.list()
		if err != nil || !slices.Contains(all, route("10.200.0.0/24", "172.30.0.200", unix.RTPROT_STATIC)) {
			return fmt.Errorf("foreign route after uninstall: %v %w", all, err)
		}
		var tables ruleTables
		listed, err := tables.list([]bool{false, true})
		if err != nil {
			return err
		}
		var specs []string
		for _, r := range listed {
			specs = append(specs, strings.Join(r.Spec, " "))
		}
		if !slices.Equal(specs, []string{strings.Join(foreignRule, " ")}) {
			return fmt.Errorf("rules after uninstall %q, want only the foreign one", specs)
		}
		return nil
	})
}
