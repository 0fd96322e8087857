package matrix

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cnigate/cnigate/e2e/harness/probe"
)

// Checks of the Kubernetes networking contract (the matrix rows in table.go):
// Services (kube-proxy over the CNI), DNS, the API server, NodePort, hostPort
// (portmap), hairpin, UDP and MTU.
const (
	bodySize        = 1 << 20
	udpHeaderBytes  = 28 // IPv4 (20) + UDP (8): payload = packet - 28
	udp6HeaderBytes = 48 // IPv6 (40) + UDP (8)
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
		out, err := execFrom(ctx, from, probe.Command(a...)...)
		fields, perr := probe.ParseProbe(out)
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
func mtuOverCheck(f ipFamily, from, addr string) func(context.Context) (time.Duration, string, error) {
	return func(ctx context.Context) (time.Duration, string, error) {
		s := suiteFrom(ctx)
		small, err := execFrom(ctx, from, probe.Command("udp", addr, "-size", "64", "-df")...)
		if _, perr := probe.ParseProbe(small); perr != nil {
			return 0, "", fmt.Errorf("precondition: a small DF packet to %s got no echo either, no verdict on the MTU: %w", addr, errors.Join(perr, err))
		}
		over := s.opt.MTU + 1
		hdr := udpHeaderBytes
		if f.v6() {
			hdr = udp6HeaderBytes
		}
		out, _ := execFrom(ctx, from, probe.Command("udp", addr, "-size", fmt.Sprint(over-hdr), "-df", "-tries", "2")...)
		fields, perr := probe.ParseProbe(out)
		if perr == nil {
			return 0, "", fmt.Errorf("a %d-byte packet with Don't-Fragment arrived and came back (%v): the path MTU is above %d", over, fields, s.opt.MTU)
		}
		return 0, "refused as it should: " + perr.Error(), nil
	}
}

// dnsCheck: name resolves (through the pod's resolv.conf) to exactly the
// Service's ClusterIP; extra are more arguments of probe dns (-transport tcp).
func dnsCheck(from, name, svc, ns string, extra ...string) func(context.Context) (time.Duration, string, error) {
	return func(ctx context.Context) (time.Duration, string, error) {
		sv, err := getService(ctx, suiteFrom(ctx), svc, ns)
		if err != nil {
			return 0, "", err
		}
		return probeCheck(from, static(append([]string{"dns", name}, extra...)...), func(f map[string]string) (string, error) {
			// A dual-stack Service has a ClusterIP per family: A and AAAA.
			want := sv.Spec.ClusterIPs
			if len(want) == 0 {
				want = []string{sv.Spec.ClusterIP}
			}
			want = slices.Sorted(slices.Values(want))
			addrs := slices.Sorted(slices.Values(strings.Split(f["addrs"], ",")))
			if !slices.Equal(addrs, want) {
				return "", fmt.Errorf("%s resolved to %v, want the Service's ClusterIPs %v", name, addrs, want)
			}
			return fmt.Sprintf("%s -> %s", name, strings.Join(want, ",")), nil
		})(ctx)
	}
}

// svcAddr is Service name's address in family f for port: its ClusterIP,
// or nodeIP and the NodePort when nodeIP is given.
func svcAddr(f ipFamily, name, port string, nodeIP string) func(ctx context.Context) (string, error) {
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
		ip := f.pickIP(append([]string{sv.Spec.ClusterIP}, sv.Spec.ClusterIPs...)...)
		if ip == "" {
			return "", fmt.Errorf("service %s has no %s ClusterIP (%v)", name, f, sv.Spec.ClusterIPs)
		}
		return hostPort(ip, int(p)), nil
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

// podIPAddr is pod's address in family f with port, read at check time.
func podIPAddr(f ipFamily, pod string, port int) func(ctx context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		p, err := getPod(ctx, suiteFrom(ctx), pod)
		if err != nil {
			return "", err
		}
		ip := f.podIPOf(p)
		if ip == "" {
			return "", fmt.Errorf("pod %s has no %s address (%v)", pod, f, p.Status.PodIPs)
		}
		return hostPort(ip, port), nil
	}
}
