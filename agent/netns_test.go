package agent

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/testutils"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
)

// Gateways of the fake nodes are in these ranges, on-link in testNetNS.
const (
	gwRange  = "172.30.0.1/16"
	gwRange6 = "fd00:30::1/64"
)

func needRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (creates a network namespace and routes in it); make test runs it as root")
	}
}

// testNetNS makes a throwaway network namespace standing in for the node:
// a veth pair (this kernel has no dummy links) whose end agt0 holds
// gwRange and gwRange6, so the fake nodes' InternalIPs are reachable
// gateways. It returns the netns and a netlink handle into it.
func testNetNS(t testing.TB) (netns.NsHandle, netlinksafe.Handle) {
	t.Helper()
	needRoot(t)
	n, err := testutils.NewNS()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close(); _ = testutils.UnmountNS(n) })
	nsh, err := netns.GetFromPath(n.Path())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nsh.Close() })
	h, err := netlinksafe.NewHandleAt(nsh)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	if err := setupVeth(h); err != nil {
		t.Fatal(err)
	}
	return nsh, h
}

func setupVeth(h netlinksafe.Handle) error {
	if err := h.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "agt0"}, PeerName: "agt1"}); err != nil {
		return fmt.Errorf("adding veth: %w", err)
	}
	for _, name := range []string{"agt0", "agt1", "lo"} {
		l, err := h.LinkByName(name)
		if err != nil {
			return err
		}
		if err := h.LinkSetUp(l); err != nil {
			return err
		}
	}
	l, err := h.LinkByName("agt0")
	if err != nil {
		return err
	}
	for _, a := range []string{gwRange, gwRange6} {
		addr, err := netlink.ParseAddr(a)
		if err != nil {
			return err
		}
		addr.Flags = unix.IFA_F_NODAD // usable at once
		if err := h.AddrAdd(l, addr); err != nil {
			return fmt.Errorf("adding %s: %w", a, err)
		}
	}
	return nil
}

// ourRoutes lists the routes with RouteProtocol as "dst via gw", sorted.
func ourRoutes(t testing.TB, h netlinksafe.Handle) []string {
	t.Helper()
	rs, err := routeTable{h: h}.list()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rs {
		if r.Protocol == RouteProtocol {
			out = append(out, r.Dst.String()+" via "+r.Gw.String())
		}
	}
	slices.Sort(out)
	return out
}

// addRoute adds a route with protocol proto by hand.
func addRoute(t testing.TB, h netlinksafe.Handle, dst, gw string, proto int) {
	t.Helper()
	r := Route{Dst: netip.MustParsePrefix(dst), Gw: netip.MustParseAddr(gw)}
	nr := routeTable{h: h}.nlRoute(r)
	nr.Protocol = netlink.RouteProtocol(proto)
	if err := h.RouteAdd(nr); err != nil {
		t.Fatalf("adding %s via %s: %v", dst, gw, err)
	}
}

// testLog is a logger into t.Log that falls silent once the test ends
// (the agent's goroutines may still log while they stop).
func testLog(t testing.TB) *slog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(func() { w.mu.Lock(); w.done = true; w.mu.Unlock() })
	return slog.New(slog.NewTextHandler(w, nil))
}

type testWriter struct {
	mu   sync.Mutex
	t    testing.TB
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimSuffix(string(p), "\n"))
	}
	return len(p), nil
}

var discardLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// newTestAgent makes an agent for node self owning the routes of nsh, with
// only steps (conf writes into a temporary directory).
func newTestAgent(t testing.TB, nsh netns.NsHandle, client kubernetes.Interface, conf string, period time.Duration, log *slog.Logger, steps ...string) *Agent {
	t.Helper()
	only := map[string]bool{}
	for _, s := range steps {
		only[s] = true
	}
	a, err := New(Options{
		NodeName: "self", Config: mustConfig(t, conf), CNIConfDir: t.TempDir(), Period: period,
		Client: client, Log: log, NetNS: &nsh, Steps: only,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.routes.h.Close)
	return a
}

// runAgent runs a until the test ends.
func runAgent(t testing.TB, a *Agent) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent: %v", err)
		}
	})
}

// startInformers starts a's informers without its loop and waits for the
// first list; the caller runs Reconcile itself.
func startInformers(t testing.TB, a *Agent) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stop, err := a.start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); stop() })
	if !cache.WaitForCacheSync(ctx.Done(), a.synced) {
		t.Fatal("informer did not sync")
	}
}

// eventually polls check until it returns nil or timeout passes, and
// returns how long it took.
func eventually(t testing.TB, timeout time.Duration, what string, check func() error) time.Duration {
	t.Helper()
	start := time.Now()
	var last error
	err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
		last = check()
		return last == nil, nil
	})
	if err != nil {
		t.Fatalf("%s: not within %v: %v", what, timeout, last)
	}
	return time.Since(start)
}

// wantRoutes checks that the agent's routes are exactly want.
func wantRoutes(h netlinksafe.Handle, t testing.TB, want ...string) func() error {
	slices.Sort(want)
	return func() error {
		if got := ourRoutes(t, h); !slices.Equal(got, want) {
			return fmt.Errorf("routes %v, want %v", got, want)
		}
		return nil
	}
}

// gw is the InternalIP of fake node i, in gwRange (i < 65000).
func gw(i int) string { return fmt.Sprintf("172.30.%d.%d", 1+i/250, 1+i%250) }

// fakeNode is node i of a large cluster in 10.0.0.0/8.
func fakeNode(i int) *v1.Node {
	return node(fmt.Sprintf("node-%04d", i), []string{fmt.Sprintf("10.%d.%d.0/24", 100+i/256, i%256)}, gw(i))
}

type netipPrefix = netip.Prefix

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// watchStarted returns a channel closed once an informer's Node watch is
// registered with the fake clientset. The fake drops changes made between
// an informer's list and its watch (it has no resourceVersions; a real API
// server replays them), so a test changes Nodes only after this.
func watchStarted(client *fake.Clientset) <-chan struct{} {
	ch := make(chan struct{})
	var once sync.Once
	client.PrependWatchReactor("nodes", func(action k8stesting.Action) (bool, watch.Interface, error) {
		w, err := client.Tracker().Watch(action.GetResource(), action.GetNamespace())
		once.Do(func() { close(ch) })
		return true, w, err
	})
	return ch
}

// waitFor waits for ch to close.
func waitFor(t testing.TB, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: not within 10s", what)
	}
}
