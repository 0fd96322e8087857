package matrix

import (
	"context"
	"fmt"
	"net"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// ips resolves the matrix pods' IPs once per assessment (listTestPods).
func ips(ctx context.Context, t *testing.T) map[string]*corev1.Pod {
	t.Helper()
	s := suiteFrom(ctx)
	listed, err := listTestPods(ctx, s)
	if err != nil && ctx.Err() != nil {
		t.Skipf("interrupted: %v", ctx.Err())
	}
	if err != nil {
		t.Fatalf("list the test pods: %v", err)
	}
	out := map[string]*corev1.Pod{}
	for _, p := range append(matrixPods(s), helperPods(s)...) {
		got, ok := listed[p.Name]
		switch {
		case !ok:
			t.Fatalf("pod %s: not found", p.Name)
		case got.Status.PodIP == "":
			t.Fatalf("pod %s has no IP", p.Name)
		}
		out[p.Name] = got
	}
	return out
}

func hostPort(ip string, port int) string { return net.JoinHostPort(ip, fmt.Sprint(port)) }

func fixed(ip string) func() (string, error) { return func() (string, error) { return ip, nil } }

// both returns the ICMP and the HTTP cell for one pair.
func both(from, to, ip string, port int, wantSource func() (string, error)) []cell {
	return []cell{
		{from: from, to: to, proto: "icmp", check: pingCheck(from, ip)},
		{from: from, to: to, proto: "http", check: httpCheck(from, hostPort(ip, port), wantSource)},
	}
}
