package e2e

import (
	"context"
	"fmt"
	"net"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/cnigate/cnigate/e2e/harness"
)

// Behaviours of the connectivity matrix, one feature each.
const (
	bPodToNode      = "pod -> own node"
	bPodToPodSame   = "pod -> pod, same node"
	bPodToPodOther  = "pod -> pod, other node"
	bPodToExternal  = "pod -> external (NAT)"
	bNodeToPod      = "node -> pod, same node"
	bHostnetToPod   = "hostNetwork pod -> pod, other node"
	bPodIPAM        = "pod IP in podCIDR, reserved"
	bPodCIDR        = "pod IP in podCIDR"
	bReservations   = "reservations == podnet pods"
	bChurnReleased  = "churn: IPs released"
	bChurnNotReused = "churn: released IPs not reused at once"
	bChurnConsisten = "churn: pods after churn"
)

// ips resolves the matrix pods' IPs once per assessment.
func ips(ctx context.Context, t *testing.T) map[string]*corev1.Pod {
	t.Helper()
	s := suiteFrom(ctx)
	out := map[string]*corev1.Pod{}
	for _, p := range append(matrixPods(s), helperPods(s)...) {
		got, err := getPod(ctx, s, p.Name)
		if err != nil && ctx.Err() != nil {
			t.Skipf("interrupted: %v", ctx.Err())
		}
		if err != nil {
			t.Fatalf("pod %s: %v", p.Name, err)
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

func TestConnectivity(t *testing.T) {
	assess := func(behaviour string, build func(s *suite, pods map[string]*corev1.Pod) []cell) features.Func {
		return func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
			runCells(ctx, t, behaviour, build(suiteFrom(ctx), ips(ctx, t)))
			return ctx
		}
	}
	podToNode := features.New(bPodToNode).Assess("pod reaches its own node's IP",
		assess(bPodToNode, func(s *suite, pods map[string]*corev1.Pod) []cell {
			var cells []cell
			for _, w := range s.workers {
				sh := shellPod(s.short[w.Name])
				cells = append(cells, both(sh, "node-"+s.short[w.Name], w.InternalIP, *flagNodePort, nil)...)
			}
			return cells
		})).Feature()

	podToPodSame := features.New(bPodToPodSame).Assess("pod reaches a pod on its node, keeping its IP",
		assess(bPodToPodSame, func(s *suite, pods map[string]*corev1.Pod) []cell {
			var cells []cell
			for _, w := range s.workers {
				sh, web := shellPod(s.short[w.Name]), webPod(s.short[w.Name])
				cells = append(cells, both(sh, web, pods[web].Status.PodIP, webPort, fixed(pods[sh].Status.PodIP))...)
			}
			return cells
		})).Feature()

	podToPodOther := features.New(bPodToPodOther).Assess("pod reaches a pod on every other node, keeping its IP",
		assess(bPodToPodOther, func(s *suite, pods map[string]*corev1.Pod) []cell {
			var cells []cell
			for _, a := range s.workers {
				for _, b := range s.workers {
					if a.Name == b.Name {
						continue
					}
					sh, web := shellPod(s.short[a.Name]), webPod(s.short[b.Name])
					cells = append(cells, both(sh, web, pods[web].Status.PodIP, webPort, fixed(pods[sh].Status.PodIP))...)
				}
			}
			return cells
		})).Feature()

	podToExternal := features.New(bPodToExternal).Assess("pod reaches a host outside the cluster, masqueraded to its node's IP",
		assess(bPodToExternal, func(s *suite, pods map[string]*corev1.Pod) []cell {
			var cells []cell
			for _, w := range s.workers {
				sh := shellPod(s.short[w.Name])
				if s.extSkip != "" || s.external == nil {
					reason := s.extSkip
					if reason == "" {
						reason = "no external host"
					}
					cells = append(cells, cell{from: sh, to: "external", proto: "icmp", skip: reason},
						cell{from: sh, to: "external", proto: "http", skip: reason})
					continue
				}
				cells = append(cells, both(sh, "external", s.external.IP, harness.ExternalPort, fixed(w.InternalIP))...)
			}
			return cells
		})).Feature()

	nodeToPod := features.New(bNodeToPod).Assess("node reaches the pods on it",
		assess(bNodeToPod, func(s *suite, pods map[string]*corev1.Pod) []cell {
			var cells []cell
			for _, w := range s.workers {
				web := webPod(s.short[w.Name])
				cells = append(cells, both(hostnetPod(s.short[w.Name]), web, pods[web].Status.PodIP, webPort, nil)...)
			}
			return cells
		})).Feature()

	hostnetToPod := features.New(bHostnetToPod).Assess("hostNetwork pod reaches pods on other nodes",
		assess(bHostnetToPod, func(s *suite, pods map[string]*corev1.Pod) []cell {
			var cells []cell
			for _, a := range s.workers {
				for _, b := range s.workers {
					if a.Name == b.Name {
						continue
					}
					web := webPod(s.short[b.Name])
					cells = append(cells, both(hostnetPod(s.short[a.Name]), web, pods[web].Status.PodIP, webPort, nil)...)
				}
			}
			return cells
		})).Feature()

	_ = testEnv.Test(t, podToNode, podToPodSame, podToPodOther, podToExternal, nodeToPod, hostnetToPod)
}
