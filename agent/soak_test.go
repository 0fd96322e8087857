package agent

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

const largeConf = `{"network":"10.0.0.0/8"}`

// TestSoakNodeChurn: 200 Nodes are added, and many of them deleted,
// re-created with another InternalIP or deleted again, from 8 goroutines
// while the agent runs; at the end its routes are exactly the live nodes'
// podCIDRs via their current InternalIPs (none stale, none missing).
func TestSoakNodeChurn(t *testing.T) {
	if testing.Short() {
		t.Skip("soak: skipped with -short")
	}
	nsh, h := testNetNS(t)
	client := fake.NewClientset(node("self", []string{"10.99.0.0/24"}, "172.30.0.10"))
	watching := watchStarted(client)
	a := newTestAgent(t, nsh, client, largeConf, 5*time.Second, discardLog, stepConf, stepRoutes)
	runAgent(t, a)
	waitFor(t, watching, "the agent's Node watch")

	const nodes, workers = 200, 8
	ctx := context.Background()
	nodesAPI := client.CoreV1().Nodes()
	live := make([]string, nodes) // the route node i should have at the end, "" for none
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for i := w; i < nodes; i += workers {
				n := fakeNode(i)
				if _, err := nodesAPI.Create(ctx, n, metav1.CreateOptions{}); err != nil {
					errs <- err
					return
				}
				want := n.Spec.PodCIDRs[0] + " via " + gw(i)
				switch rng.IntN(4) {
				case 0: // deleted
					time.Sleep(time.Duration(rng.IntN(5)) * time.Millisecond)
					if err := nodesAPI.Delete(ctx, n.Name, metav1.DeleteOptions{}); err != nil {
						errs <- err
						return
					}
					want = ""
				case 1: // deleted and re-created with another InternalIP
					if err := nodesAPI.Delete(ctx, n.Name, metav1.DeleteOptions{}); err != nil {
						errs <- err
						return
					}
					n = fakeNode(i)
					n.Status.Addresses[0].Address = gw(i + 1000)
					if _, err := nodesAPI.Create(ctx, n, metav1.CreateOptions{}); err != nil {
						errs <- err
						return
					}
					want = n.Spec.PodCIDRs[0] + " via " + gw(i+1000)
				}
				live[i] = want
				runtime.Gosched()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var want []string
	for _, r := range live {
		if r != "" {
			want = append(want, r)
		}
	}
	took := eventually(t, 15*time.Second, fmt.Sprintf("routes equal to the %d live nodes' podCIDRs", len(want)), wantRoutes(h, t, want...))
	t.Logf("%d nodes created, %d live at the end: routes exact %v after the last change", nodes, len(want), took.Round(time.Millisecond))
}

// BenchmarkReconcile measures a steady-state reconcile (Nodes from the
// informer's cache, the routing table listed, nothing to change) with 10,
// 100 and 1,000 nodes, and reports the first reconcile (every route added)
// and the heap the agent holds once it has the nodes and routes.
func BenchmarkReconcile(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			nsh, h := testNetNS(b)
			var before runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			client := fake.NewClientset(node("self", []string{"10.99.0.0/24"}, "172.30.0.10"))
			for i := range n {
				if _, err := client.CoreV1().Nodes().Create(context.Background(), fakeNode(i), metav1.CreateOptions{}); err != nil {
					b.Fatal(err)
				}
			}
			a := newTestAgent(b, nsh, client, largeConf, time.Hour, discardLog, stepConf, stepRoutes)
			startInformers(b, a)
			ctx := context.Background()
			start := time.Now()
			if err := a.Reconcile(ctx); err != nil {
				b.Fatal(err)
			}
			first := time.Since(start)
			if got := len(ourRoutes(b, h)); got != n {
				b.Fatalf("%d routes after the first reconcile, want %d", got, n)
			}
			var after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&after)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := a.Reconcile(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(first.Seconds()*1000, "first-ms")
			b.ReportMetric(float64(after.HeapAlloc-min(before.HeapAlloc, after.HeapAlloc))/(1<<20), "heap-MiB")
		})
	}
}
