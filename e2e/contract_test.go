package e2e

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/cnigate/cnigate/e2e/harness"
)

// The Kubernetes networking contract a CNI must keep, beyond the tutorial's
// matrix: Services (kube-proxy over the CNI), DNS, the API server, NodePort,
// hostPort (portmap), hairpin, UDP and MTU. One feature per behaviour, cells
// from the pods on every worker.
const (
	bSvcTCPSame     = "ClusterIP TCP, backend same node"
	bSvcTCPOther    = "ClusterIP TCP, backend other node"
	bSvcUDPSame     = "ClusterIP UDP, backend same node"
	bSvcUDPOther    = "ClusterIP UDP, backend other node"
	bHairpin        = "hairpin: pod -> own Service -> itself"
	bNodePortNode   = "NodePort from another node"
	bNodePortExt    = "NodePort from the external host"
	bDNSService     = "DNS: Service name -> its ClusterIP"
	bDNSKubernetes  = "DNS: kubernetes.default -> its ClusterIP"
	bAPIServer      = "API server over https://kubernetes.default"
	bHostPortNode   = "hostPort from another node"
	bHostPortExt    = "hostPort from the external host"
	bUDPSame        = "UDP pod -> pod, same node"
	bUDPOther       = "UDP pod -> pod, other node"
	bMTUSame        = "MTU: DF packet of exactly the MTU, same node"
	bMTUOther       = "MTU: DF packet of exactly the MTU, other node"
	bBodySame       = "MTU: 1 MiB HTTP body intact, same node"
	bBodyOther      = "MTU: 1 MiB HTTP body intact, other node"
	bMTUOverSame    = "MTU: DF packet of MTU+1 does not pass, same node"
	bMTUOverOther   = "MTU: DF packet of MTU+1 does not pass, other node"
	bodySize        = 1 << 20
	udpHeaderBytes  = 28 // IPv4 (20) + UDP (8): payload = packet - 28
	kubernetesSvcNS = metav1.NamespaceDefault
)

func getService(ctx context.Context, s *suite, name, ns string) (*corev1.Service, error) {
	var svc corev1.Service
	if err := s.client.Resources().Get(ctx, name, ns, &svc); err != nil {
		return nil, err
	}
	if svc.Spec.ClusterIP == "" || svc.Spec.ClusterIP == corev1.ClusterIPNone {
		return nil, fmt.Errorf("service %s/%s has no ClusterIP", ns, name)
	}
	return &svc, nil
}

func servicePort(svc *corev1.Service, name string, nodePort bool) (int32, error) {
	for _, p := range svc.Spec.Ports {
		if p.Name == name {
			if nodePort {
				return p.NodePort, nil
			}
			return p.Port, nil
		}
	}
	return 0, fmt.Errorf("service %s has no port %q", svc.Name, name)
}

// probeCheck runs the Go probe from a pod (or the external host) with the
// arguments args returns (resolved at check time) and passes when it says ok.
func probeCheck(from string, args func(ctx context.Context) ([]string, error), verify func(map[string]string) (string, error)) func(context.Context) (time.Duration, string, error) {
	return func(ctx context.Context) (time.Duration, string, error) {
		a, err := args(ctx)
		if err != nil {
			return 0, "", err
		}
		out, err := execFrom(ctx, from, harness.ProbeCommand(a...)...)
		fields, perr := harness.ParseProbe(out)
		if perr != nil {
			if err != nil && !strings.Contains(out, "fail ") {
				return 0, "", err
			}
			return 0, "", fmt.Errorf("probe %s: %w", strings.Join(a, " "), perr)
		}
		var lat time.Duration
		for _, k := range []string{"rtt_us", "elapsed_us"} {
			if v, ok := fields[k]; ok {
				var us int64
				if _, err := fmt.Sscan(v, &us); err == nil {
					lat = time.Duration(us) * time.Microsecond
				}
			}
		}
		detail := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(out), "ok"))
		if verify != nil {
			d, err := verify(fields)
			if err != nil {
				return lat, detail, err
			}
			if d != "" {
				detail = d
			}
		}
		return lat, detail, nil
	}
}

func static(a ...string) func(context.Context) ([]string, error) {
	return func(context.Context) ([]string, error) { return a, nil }
}

// udpEcho: one datagram of payload bytes (DF when df) to addr must come back.
func udpEcho(from string, addr func(ctx context.Context) (string, error), payload int, df bool) func(context.Context) (time.Duration, string, error) {
	return probeCheck(from, func(ctx context.Context) ([]string, error) {
		a, err := addr(ctx)
		if err != nil {
			return nil, err
		}
		args := []string{"udp", a, "-size", fmt.Sprint(payload)}
		if df {
			args = append(args, "-df")
		}
		return args, nil
	}, nil)
}

// mtuOverCheck: a DF packet one byte over the MTU must not arrive; to be a
// verdict on the MTU, a small packet to the same echo server must.
func mtuOverCheck(from, addr string) func(context.Context) (time.Duration, string, error) {
	return func(ctx context.Context) (time.Duration, string, error) {
		small, err := execFrom(ctx, from, harness.ProbeCommand("udp", addr, "-size", "64", "-df")...)
		if _, perr := harness.ParseProbe(small); perr != nil {
			return 0, "", fmt.Errorf("precondition: a small DF packet to %s got no echo either, no verdict on the MTU: %w", addr, errors.Join(perr, err))
		}
		over := *flagMTU + 1
		out, _ := execFrom(ctx, from, harness.ProbeCommand("udp", addr, "-size", fmt.Sprint(over-udpHeaderBytes), "-df", "-tries", "2")...)
		fields, perr := harness.ParseProbe(out)
		if perr == nil {
			return 0, "", fmt.Errorf("a %d-byte packet with Don't-Fragment arrived and came back (%v): the path MTU is above %d", over, fields, *flagMTU)
		}
		return 0, "refused as it should: " + perr.Error(), nil
	}
}

// dnsCheck: name resolves (through the pod's resolv.conf) to exactly the
// Service's ClusterIP.
func dnsCheck(from, name, svc, ns string) func(context.Context) (time.Duration, string, error) {
	return func(ctx context.Context) (time.Duration, string, error) {
		sv, err := getService(ctx, suiteFrom(ctx), svc, ns)
		if err != nil {
			return 0, "", err
		}
		return probeCheck(from, static("dns", name), func(f map[string]string) (string, error) {
			addrs := strings.Split(f["addrs"], ",")
			if !slices.Equal(addrs, []string{sv.Spec.ClusterIP}) {
				return "", fmt.Errorf("%s resolved to %v, want the Service's ClusterIP %s", name, addrs, sv.Spec.ClusterIP)
			}
			return fmt.Sprintf("%s -> %s", name, sv.Spec.ClusterIP), nil
		})(ctx)
	}
}

func svcAddr(name, port string, nodeIP string) func(ctx context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		s := suiteFrom(ctx)
		sv, err := getService(ctx, s, name, s.namespace)
		if err != nil {
			return "", err
		}
		p, err := servicePort(sv, port, nodeIP != "")
		if err != nil {
			return "", err
		}
		if nodeIP != "" {
			return hostPort(nodeIP, int(p)), nil
		}
		return hostPort(sv.Spec.ClusterIP, int(p)), nil
	}
}

// httpVia: the usual /cgi-bin/ip GET, to an address resolved at check time.
func httpVia(from string, addr func(ctx context.Context) (string, error)) func(context.Context) (time.Duration, string, error) {
	return func(ctx context.Context) (time.Duration, string, error) {
		a, err := addr(ctx)
		if err != nil {
			return 0, "", err
		}
		lat, detail, err := httpCheck(from, a, nil)(ctx)
		return lat, "via " + a + ": " + detail, err
	}
}

func podIPAddr(pod string, port int) func(ctx context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		p, err := getPod(ctx, suiteFrom(ctx), pod)
		if err != nil {
			return "", err
		}
		return hostPort(p.Status.PodIP, port), nil
	}
}

func TestContract(t *testing.T) {
	feature := func(behaviour, what string, build func(s *suite) []cell) features.Feature {
		return features.New(behaviour).Assess(what, func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
			runCells(ctx, t, behaviour, build(suiteFrom(ctx)))
			return ctx
		}).Feature()
	}
	// pairs calls f for every worker a with b = a (same) or every b != a (other).
	pairs := func(s *suite, same bool, f func(a, b harness.NodeInfo) []cell) []cell {
		var cells []cell
		for _, a := range s.workers {
			for _, b := range s.workers {
				if (a.Name == b.Name) == same {
					cells = append(cells, f(a, b)...)
				}
			}
		}
		return cells
	}
	short := func(s *suite, n harness.NodeInfo) string { return s.short[n.Name] }
	svcCells := func(same bool, proto string) func(s *suite) []cell {
		return func(s *suite) []cell {
			return pairs(s, same, func(a, b harness.NodeInfo) []cell {
				from, svc := shellPod(short(s, a)), webPod(short(s, b))
				c := cell{from: from, to: "svc/" + svc, proto: proto}
				if proto == "udp" {
					c.check = udpEcho(from, svcAddr(svc, "udp", ""), 64, false)
				} else {
					c.check = httpVia(from, svcAddr(svc, "http", ""))
				}
				return []cell{c}
			})
		}
	}
	fromOtherNodeAndExternal := func(external bool, to string, addr func(s *suite, n harness.NodeInfo) func(context.Context) (string, error)) func(s *suite) []cell {
		return func(s *suite) []cell {
			if !external {
				return pairs(s, false, func(a, b harness.NodeInfo) []cell {
					from := hostnetPod(short(s, a))
					return []cell{{from: from, to: to + "@node-" + short(s, b), proto: "http", check: httpVia(from, addr(s, b))}}
				})
			}
			var cells []cell
			for _, n := range s.workers {
				c := cell{from: externalFrom, to: to + "@node-" + short(s, n), proto: "http", check: httpVia(externalFrom, addr(s, n))}
				if s.extSkip != "" || s.external == nil {
					c.skip = s.extSkip
					if c.skip == "" {
						c.skip = "no external host"
					}
				}
				cells = append(cells, c)
			}
			return cells
		}
	}
	nodePort := func(s *suite, n harness.NodeInfo) func(context.Context) (string, error) {
		return svcAddr(webPod(short(s, n)), "http", n.InternalIP)
	}
	hostPortOf := func(_ *suite, n harness.NodeInfo) func(context.Context) (string, error) {
		return func(context.Context) (string, error) { return hostPort(n.InternalIP, webHostPort), nil }
	}
	podCells := func(same bool, proto string, check func(from, to string) func(context.Context) (time.Duration, string, error)) func(s *suite) []cell {
		return func(s *suite) []cell {
			return pairs(s, same, func(a, b harness.NodeInfo) []cell {
				from, to := shellPod(short(s, a)), webPod(short(s, b))
				return []cell{{from: from, to: to, proto: proto, check: check(from, to)}}
			})
		}
	}
	mtu := *flagMTU
	udp := func(from, to string) func(context.Context) (time.Duration, string, error) {
		return udpEcho(from, podIPAddr(to, probeUDPPort), 64, false)
	}
	df := func(from, to string) func(context.Context) (time.Duration, string, error) {
		return udpEcho(from, podIPAddr(to, probeUDPPort), mtu-udpHeaderBytes, true)
	}
	over := func(from, to string) func(context.Context) (time.Duration, string, error) {
		return func(ctx context.Context) (time.Duration, string, error) {
			a, err := podIPAddr(to, probeUDPPort)(ctx)
			if err != nil {
				return 0, "", err
			}
			return mtuOverCheck(from, a)(ctx)
		}
	}
	body := func(from, to string) func(context.Context) (time.Duration, string, error) {
		return probeCheck(from, func(ctx context.Context) ([]string, error) {
			a, err := podIPAddr(to, probeHTTPPort)(ctx)
			if err != nil {
				return nil, err
			}
			return []string{"http", fmt.Sprintf("http://%s/bytes?n=%d", a, bodySize), "-bytes", fmt.Sprint(bodySize)}, nil
		}, nil)
	}
	perWorker := func(f func(s *suite, n harness.NodeInfo) cell) func(s *suite) []cell {
		return func(s *suite) []cell {
			var cells []cell
			for _, n := range s.workers {
				cells = append(cells, f(s, n))
			}
			return cells
		}
	}

	fs := []features.Feature{
		feature(bSvcTCPSame, "a pod reaches a ClusterIP Service whose backend is on its node (TCP)", svcCells(true, "http")),
		feature(bSvcTCPOther, "a pod reaches a ClusterIP Service whose backend is on another node (TCP)", svcCells(false, "http")),
		feature(bSvcUDPSame, "a pod reaches a ClusterIP Service whose backend is on its node (UDP)", svcCells(true, "udp")),
		feature(bSvcUDPOther, "a pod reaches a ClusterIP Service whose backend is on another node (UDP)", svcCells(false, "udp")),
		feature(bHairpin, "a pod reaches itself through its own Service (hairpin)", perWorker(func(s *suite, n harness.NodeInfo) cell {
			web := webPod(short(s, n))
			return cell{from: web, to: "svc/" + web + " (itself)", proto: "http", check: httpVia(web, svcAddr(web, "http", ""))}
		})),
		feature(bNodePortNode, "a NodePort answers on a node's IP from another node", fromOtherNodeAndExternal(false, "nodeport", nodePort)),
		feature(bNodePortExt, "a NodePort answers on a node's IP from the external host", fromOtherNodeAndExternal(true, "nodeport", nodePort)),
		feature(bDNSService, "a pod resolves a Service name to its ClusterIP", perWorker(func(s *suite, n harness.NodeInfo) cell {
			from, svc := shellPod(short(s, n)), webPod(short(s, n))
			name := fmt.Sprintf("%s.%s.svc.cluster.local", svc, s.namespace)
			return cell{from: from, to: name, proto: "dns", check: dnsCheck(from, name, svc, s.namespace)}
		})),
		feature(bDNSKubernetes, "a pod resolves kubernetes.default to the API Service's ClusterIP", perWorker(func(s *suite, n harness.NodeInfo) cell {
			from := shellPod(short(s, n))
			return cell{from: from, to: "kubernetes.default", proto: "dns", check: dnsCheck(from, "kubernetes.default", "kubernetes", kubernetesSvcNS)}
		})),
		feature(bAPIServer, "a pod reaches the API server over HTTPS (any HTTP answer)", perWorker(func(s *suite, n harness.NodeInfo) cell {
			// Dialled at the Service's ClusterIP, verified for the name: the
			// cell is about the API server's reachability, DNS has its own.
			from := shellPod(short(s, n))
			return cell{from: from, to: "https://kubernetes.default", proto: "https", check: probeCheck(from, func(ctx context.Context) ([]string, error) {
				sv, err := getService(ctx, suiteFrom(ctx), "kubernetes", kubernetesSvcNS)
				if err != nil {
					return nil, err
				}
				p, err := servicePort(sv, "https", false)
				if err != nil {
					return nil, err
				}
				return []string{"https", "https://kubernetes.default/", "-connect", hostPort(sv.Spec.ClusterIP, int(p))}, nil
			}, nil)}
		})),
		feature(bHostPortNode, "a pod's hostPort answers on its node's IP from another node", fromOtherNodeAndExternal(false, "hostport", hostPortOf)),
		feature(bHostPortExt, "a pod's hostPort answers on its node's IP from the external host", fromOtherNodeAndExternal(true, "hostport", hostPortOf)),
		feature(bUDPSame, "UDP from a pod to a pod on its node", podCells(true, "udp", udp)),
		feature(bUDPOther, "UDP from a pod to a pod on another node", podCells(false, "udp", udp)),
		feature(bMTUSame, "a DF packet of exactly the MTU passes to a pod on the same node", podCells(true, fmt.Sprintf("udp-df-%d", mtu), df)),
		feature(bMTUOther, "a DF packet of exactly the MTU passes to a pod on another node", podCells(false, fmt.Sprintf("udp-df-%d", mtu), df)),
		feature(bBodySame, "a 1 MiB HTTP body from a pod on the same node arrives intact", podCells(true, "http-1MiB", body)),
		feature(bBodyOther, "a 1 MiB HTTP body from a pod on another node arrives intact", podCells(false, "http-1MiB", body)),
		feature(bMTUOverSame, "a DF packet one byte over the MTU does not pass (same node)", podCells(true, fmt.Sprintf("udp-df-%d", mtu+1), over)),
		feature(bMTUOverOther, "a DF packet one byte over the MTU does not pass (other node)", podCells(false, fmt.Sprintf("udp-df-%d", mtu+1), over)),
	}
	_ = testEnv.Test(t, fs...)
}
