package agent

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"k8s.io/client-go/kubernetes/fake"
)

// syncBuffer is a log sink tests read while the agent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRouteWatchSilentAtShutdown: closing the route subscription at
// shutdown is not a failure and is not logged as one.
func TestRouteWatchSilentAtShutdown(t *testing.T) {
	nsh, _ := testNetNS(t)
	var logs syncBuffer
	a := newTestAgent(t, nsh, fake.NewClientset(), `{"network":"10.244.0.0/16"}`, time.Hour, slog.New(slog.NewTextHandler(&logs, nil)), stepRoutes)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.watchRoutes(ctx); close(done) }()
	time.Sleep(200 * time.Millisecond) // subscribed
	cancel()
	<-done
	time.Sleep(300 * time.Millisecond) // the receiver's error, if any, logged by now
	if s := logs.String(); strings.Contains(s, "subscri") {
		t.Fatalf("logged at shutdown:\n%s", s)
	}
}

// TestRouteWatchResubscribes: a subscription that fails (its channel closes
// after an error) is made again within a short backoff, not a period, and
// a reconcile is kicked for the changes missed meanwhile.
func TestRouteWatchResubscribes(t *testing.T) {
	a := &Agent{log: testLog(t), trigger: make(chan struct{}, 1), opts: Options{Period: time.Hour}}
	calls := make(chan netlink.RouteSubscribeOptions, 10)
	var mu sync.Mutex
	n := 0
	a.subscribe = func(ch chan<- netlink.RouteUpdate, done <-chan struct{}, o netlink.RouteSubscribeOptions) error {
		mu.Lock()
		n++
		first := n == 1
		mu.Unlock()
		calls <- o
		go func() {
			defer close(ch)
			if first {
				o.ErrorCallback(errors.New("Receive failed: no buffer space available"))
				return
			}
			<-done
		}()
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { a.watchRoutes(ctx); close(stopped) }()
	defer func() { cancel(); <-stopped }()

	o := <-calls
	if o.ReceiveBufferSize < 1<<20 || !o.ReceiveBufferForceSize {
		t.Fatalf("receive buffer %d force %v, want >= 1 MiB forced", o.ReceiveBufferSize, o.ReceiveBufferForceSize)
	}
	if len(a.trigger) != 0 {
		t.Fatal("kicked before anything was missed")
	}
	select {
	case <-calls:
	case <-time.After(2 * time.Second):
		t.Fatal("not subscribed again within 2s of the failure")
	}
	select {
	case <-a.trigger:
	case <-time.After(2 * time.Second):
		t.Fatal("no reconcile kicked after subscribing again")
	}
}
