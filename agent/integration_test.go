package agent

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

const dualConf = `{"network":"10.244.0.0/16","network6":"fd00:10:244::/56"}`

// TestRoutesInNetNS runs the agent against a fake API server with three
// other nodes, owning the routes of a throwaway netns: the routes appear
// with the agent's protocol, a route deleted by hand is back at once (the
// route event, not the period),
// a changed InternalIP changes the gateway, a deleted Node's route goes,
// and a foreign route is never touched.
func TestRoutesInNetNS(t *testing.T) {
	nsh, h := testNetNS(t)
	addRoute(t, h, "10.200.0.0/24", "172.30.0.200", unix.RTPROT_STATIC)
	client := fake.NewClientset(
		node("self", []string{"10.244.0.0/24", "fd00:10:244::/64"}, "172.30.0.10", "fd00:30::10"),
		node("node-1", []string{"10.244.1.0/24", "fd00:10:244:1::/64"}, "172.30.0.11", "fd00:30::11"),
		node("node-2", []string{"10.244.2.0/24", "fd00:10:244:2::/64"}, "172.30.0.12"), // no IPv6 InternalIP: no IPv6 route
		node("node-3", []string{"10.244.3.0/24"}, "172.30.0.13"),
	)
	watching := watchStarted(client)
	// A period of an hour: only the netlink route events (and Node events)
	// can bring a deleted route back within the test.
	a := newTestAgent(t, nsh, client, dualConf, time.Hour, testLog(t), stepConf, stepRoutes)
	runAgent(t, a)
	waitFor(t, watching, "the agent's Node watch")

	eventually(t, 10*time.Second, "routes to the three nodes", wantRoutes(h, t,
		"10.244.1.0/24 via 172.30.0.11", "fd00:10:244:1::/64 via fd00:30::11", "10.244.2.0/24 via 172.30.0.12", "10.244.3.0/24 via 172.30.0.13"))
	eventually(t, 10*time.Second, "ready", func() error {
		if !a.Ready() {
			return errors.New("not ready")
		}
		return nil
	})
	conf, err := os.ReadFile(filepath.Join(a.opts.CNIConfDir, ConflistName))
	if err != nil || !strings.Contains(string(conf), `"subnet": "10.244.0.0/24"`) || !strings.Contains(string(conf), `"subnet6": "fd00:10:244::/64"`) {
		t.Fatalf("conflist %s, %v", conf, err)
	}
	rec := httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("/readyz: %d %s", rec.Code, rec.Body)
	}
	if v4, v6 := testutil.ToFloat64(a.metrics.routesOwned.WithLabelValues("IPv4")), testutil.ToFloat64(a.metrics.routesOwned.WithLabelValues("IPv6")); v4 != 3 || v6 != 1 {
		t.Fatalf("podnet_agent_routes_owned IPv4 %v IPv6 %v, want 3 and 1", v4, v6)
	}

	// Deleted by hand: back by the netlink event (the period is an hour).
	if err := h.RouteDel(a.routes.nlRoute(route("10.244.1.0/24", "172.30.0.11", RouteProtocol))); err != nil {
		t.Fatal(err)
	}
	took := eventually(t, 10*time.Second, "deleted route back", wantRoutes(h, t,
		"10.244.1.0/24 via 172.30.0.11", "fd00:10:244:1::/64 via fd00:30::11", "10.244.2.0/24 via 172.30.0.12", "10.244.3.0/24 via 172.30.0.13"))
	t.Logf("a route deleted by hand was back after %v", took.Round(time.Millisecond))

	ctx := context.Background()
	n1, err := client.CoreV1().Nodes().Get(ctx, "node-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n1.Status.Addresses[0].Address = "172.30.0.21"
	if _, err := client.CoreV1().Nodes().Update(ctx, n1, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := client.CoreV1().Nodes().Delete(ctx, "node-3", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "new gateway of node-1, node-3's route gone", wantRoutes(h, t,
		"10.244.1.0/24 via 172.30.0.21", "fd00:10:244:1::/64 via fd00:30::11", "10.244.2.0/24 via 172.30.0.12"))

	all, err := routeTable{h: h}.list()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(all, route("10.200.0.0/24", "172.30.0.200", unix.RTPROT_STATIC)) {
		t.Fatalf("the foreign route 10.200.0.0/24 changed: %v", all)
	}
}

// TestAPIUnreachableKeepsRoutes: while the API server does not answer (every
// Node list fails), the agent keeps the routes it has (a restart while the
// control plane is down must not cut the node off) and is not ready; once
// the API answers it converges.
func TestAPIUnreachableKeepsRoutes(t *testing.T) {
	nsh, h := testNetNS(t)
	addRoute(t, h, "10.244.1.0/24", "172.30.0.11", RouteProtocol) // from the agent's previous run
	addRoute(t, h, "10.244.9.0/24", "172.30.0.19", RouteProtocol) // a node deleted meanwhile
	client := fake.NewClientset(
		node("self", []string{"10.244.0.0/24"}, "172.30.0.10"),
		node("node-1", []string{"10.244.1.0/24"}, "172.30.0.11"),
		node("node-2", []string{"10.244.2.0/24"}, "172.30.0.12"),
	)
	var down atomic.Bool
	down.Store(true)
	client.PrependReactor("list", "nodes", func(k8stesting.Action) (bool, runtime.Object, error) {
		if down.Load() {
			return true, nil, errors.New("connection refused")
		}
		return false, nil, nil
	})
	a := newTestAgent(t, nsh, client, `{"network":"10.244.0.0/16"}`, 100*time.Millisecond, discardLog, stepConf, stepRoutes)
	runAgent(t, a)
	time.Sleep(time.Second) // ten periods
	if err := wantRoutes(h, t, "10.244.1.0/24 via 172.30.0.11", "10.244.9.0/24 via 172.30.0.19")(); err != nil {
		t.Fatalf("API down: %v", err)
	}
	if a.Ready() {
		t.Fatal("ready without ever hearing from the API server")
	}
	if n := testutil.ToFloat64(a.metrics.errors.WithLabelValues(stepSync)); n < 5 {
		t.Fatalf(`podnet_agent_reconcile_errors_total{step="sync"} %v after ten periods not synced, want >= 5`, n)
	}
	down.Store(false)
	eventually(t, 10*time.Second, "converged once the API answers", wantRoutes(h, t, "10.244.1.0/24 via 172.30.0.11", "10.244.2.0/24 via 172.30.0.12"))
}

// TestNodeWithoutPodCIDR: no conf, an Event on the Node naming the fix, not
// ready; the conf appears once the podCIDR is allocated.
func TestNodeWithoutPodCIDR(t *testing.T) {
	nsh, _ := testNetNS(t)
	client := fake.NewClientset(node("self", nil, "172.30.0.10"))
	watching := watchStarted(client)
	a := newTestAgent(t, nsh, client, `{"network":"10.244.0.0/16"}`, 100*time.Millisecond, discardLog, stepConf, stepRoutes)
	runAgent(t, a)
	waitFor(t, watching, "the agent's Node watch")
	ctx := context.Background()
	eventually(t, 10*time.Second, "an Event on the Node", func() error {
		events, err := client.CoreV1().Events("").List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		for _, e := range events.Items {
			if e.InvolvedObject.Kind == "Node" && e.InvolvedObject.Name == "self" && e.Reason == "PodnetNoPodCIDR" &&
				e.Type == v1.EventTypeWarning && strings.Contains(e.Message, "--allocate-node-cidrs") {
				return nil
			}
		}
		return fmt.Errorf("events %v", events.Items)
	})
	path := filepath.Join(a.opts.CNIConfDir, ConflistName)
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) || a.Ready() {
		t.Fatalf("conf %v, ready %v: want no conf and not ready", err, a.Ready())
	}
	self, err := client.CoreV1().Nodes().Get(ctx, "self", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	self.Spec.PodCIDR, self.Spec.PodCIDRs = "10.244.0.0/24", []string{"10.244.0.0/24"}
	if _, err := client.CoreV1().Nodes().Update(ctx, self, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "conf once the podCIDR is there", func() error {
		if _, err := os.Stat(path); err != nil {
			return err
		}
		if !a.Ready() {
			return errors.New("not ready")
		}
		return nil
	})
}

// TestForeignBlackholeKept: a blackhole (IPv4) and an unreachable (IPv6)
// route someone else put on the dst of a node's podCIDR are conflicts:
// reported, left as they are; the other node's route is still set.
func TestForeignBlackholeKept(t *testing.T) {
	nsh, h := testNetNS(t)
	for _, dst := range []string{"10.244.1.0/24", "fd00:10:244:1::/64"} {
		typ := unix.RTN_BLACKHOLE
		if strings.Contains(dst, ":") {
			typ = unix.RTN_UNREACHABLE
		}
		r := &netlink.Route{Dst: prefixToIPNet(mustPrefix(dst)), Type: typ, Table: unix.RT_TABLE_MAIN, Protocol: unix.RTPROT_STATIC}
		if err := h.RouteAdd(r); err != nil {
			t.Fatalf("adding %s: %v", dst, err)
		}
	}
	client := fake.NewClientset(
		node("self", []string{"10.244.0.0/24", "fd00:10:244::/64"}, "172.30.0.10", "fd00:30::10"),
		node("node-1", []string{"10.244.1.0/24", "fd00:10:244:1::/64"}, "172.30.0.11", "fd00:30::11"),
		node("node-2", []string{"10.244.2.0/24"}, "172.30.0.12"),
	)
	a := newTestAgent(t, nsh, client, dualConf, time.Hour, testLog(t), stepConf, stepRoutes)
	startInformers(t, a)
	err := a.Reconcile(context.Background())
	if err == nil || !strings.Contains(err.Error(), "another route") {
		t.Fatalf("reconcile: %v; want the conflicts reported", err)
	}
	if err := wantRoutes(h, t, "10.244.2.0/24 via 172.30.0.12")(); err != nil {
		t.Fatal(err)
	}
	all, err := routeTable{h: h}.list()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []Route{typed("10.244.1.0/24", unix.RTPROT_STATIC, unix.RTN_BLACKHOLE), typed("fd00:10:244:1::/64", unix.RTPROT_STATIC, unix.RTN_UNREACHABLE)} {
		if !slices.Contains(all, want) {
			t.Errorf("%v not left as it was: %v", want, all)
		}
	}
	if a.Ready() {
		t.Fatal("ready with a conflict")
	}
}

// TestFirstReconcileAfterSync: the reconcile at start finds the informer
// not synced; once it syncs a reconcile is kicked, even when no Node event
// would kick one (no Nodes listed), rather than a period (an hour) later.
func TestFirstReconcileAfterSync(t *testing.T) {
	nsh, _ := testNetNS(t)
	client := fake.NewClientset()
	client.PrependReactor("list", "nodes", func(k8stesting.Action) (bool, runtime.Object, error) {
		time.Sleep(300 * time.Millisecond) // a slow API server
		return false, nil, nil
	})
	a := newTestAgent(t, nsh, client, `{"network":"10.244.0.0/16"}`, time.Hour, testLog(t), stepConf, stepRoutes)
	ctx, cancel := context.WithCancel(context.Background())
	stop, err := a.start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); stop() }()
	select {
	case <-a.trigger:
		if !a.synced() {
			t.Fatal("kicked before the informer synced")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no reconcile kicked within 5s of start")
	}
}
