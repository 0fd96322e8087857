package matrix

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/cnigate/cnigate/e2e/harness/nodenet"
	"github.com/cnigate/cnigate/e2e/harness/probe"
)

// The hostPort cells beyond the plain TCP one (issue 20, section 3): a
// hostPort bound to one address of its node (`hostIP`), one bound to the
// node's 127.0.0.1, and a UDP hostPort. The web pods publish them
// (webCellPorts); the runtime hands them to the CNI's portmap, which
// DNATs `-d <hostIP>` when a hostIP is given.
const (
	webHostPortUDP   = 18091 // UDP, to the probe's echo (probeUDPPort)
	webHostIPPort    = 18092 // hostIP = the node's InternalIP (one per family, the same port)
	webLoopbackPort  = 18093 // hostIP = 127.0.0.1
	loopbackHostIP   = "127.0.0.1"
	loopbackV6Reason = "hostIP ::1 is not supported by portmap: it marks only 127.0.0.1 for masquerade and IPv6 has no route_localnet, " +
		"so a connection from ::1 cannot be forwarded to a pod (the IPv4 pass tests 127.0.0.1)"
)

// webCellPorts adds the extra hostPorts to web pod p on worker w: per family
// of the run, the node's InternalIP in that family as hostIP; 127.0.0.1 when
// the run has IPv4; UDP on the probe container (the echo is there).
func webCellPorts(s *suite, w nodenet.NodeInfo, p *corev1.Pod) {
	main := &p.Spec.Containers[0]
	for _, ip := range []struct {
		addr string
		used bool
	}{{w.InternalIP, s.has4()}, {w.InternalIP6, s.has6()}} {
		if ip.used && ip.addr != "" {
			main.Ports = append(main.Ports, corev1.ContainerPort{ContainerPort: webPort, HostPort: webHostIPPort, HostIP: ip.addr, Protocol: corev1.ProtocolTCP})
		}
	}
	if s.has4() {
		main.Ports = append(main.Ports, corev1.ContainerPort{ContainerPort: webPort, HostPort: webLoopbackPort, HostIP: loopbackHostIP, Protocol: corev1.ProtocolTCP})
	}
	for i := range p.Spec.Containers {
		if c := &p.Spec.Containers[i]; c.Name == "probe" {
			c.Ports = append(c.Ports, corev1.ContainerPort{ContainerPort: probeUDPPort, HostPort: webHostPortUDP, Protocol: corev1.ProtocolUDP})
		}
	}
}

func hostIPAddr(_ *suite, f ipFamily, n nodenet.NodeInfo) func(context.Context) (string, error) {
	ip := f.nodeIP(n)
	return func(context.Context) (string, error) { return hostPort(ip, webHostIPPort), nil }
}

// Rows of the table (table.go), in the Contract group.

func rowHostPortHostIP() row {
	return row{group: gContract, name: "hostPort on hostIP = node InternalIP, from another node",
		what:  "a hostPort bound to its node's InternalIP (hostIP) answers there from another node",
		cells: pairs(false, fromHostnet("hostport-hostip", hostIPAddr))}
}

func rowHostPortLoopback() row {
	return row{group: gContract, name: "hostPort on hostIP 127.0.0.1, from its own node",
		what: "a hostPort bound to 127.0.0.1 answers on the node's 127.0.0.1 (portmap: DNAT, route_localnet, masquerade)",
		cells: perWorker(func(s *suite, f ipFamily, n nodenet.NodeInfo, _ map[string]*corev1.Pod) []cell {
			from := hostnetPod(s.short[n.Name])
			c := cell{from: from, to: "hostport-127.0.0.1@node-" + s.short[n.Name], proto: "http",
				check: httpVia(from, func(context.Context) (string, error) { return hostPort(loopbackHostIP, webLoopbackPort), nil })}
			if f.v6() {
				c.skip = loopbackV6Reason
			}
			return []cell{c}
		})}
}

func rowHostPortLoopbackOther() row {
	return row{group: gContract, name: "hostPort on hostIP 127.0.0.1, not from another node",
		what:  "a hostPort bound to 127.0.0.1 does not answer on its node's InternalIP from another node (hostIP honoured)",
		cells: pairs(false, loopbackNotFromOther)}
}

func rowHostPortUDP() row {
	return row{group: gContract, name: "UDP hostPort from another node", what: "a pod's UDP hostPort echoes on its node's IP from another node",
		cells: pairs(false, func(s *suite, f ipFamily, a, b nodenet.NodeInfo, _ map[string]*corev1.Pod) []cell {
			from := hostnetPod(s.short[a.Name])
			ip := f.nodeIP(b)
			return []cell{{from: from, to: "hostport-udp@node-" + s.short[b.Name], proto: "udp",
				check: udpEcho(from, func(context.Context) (string, error) { return hostPort(ip, webHostPortUDP), nil }, 64, false)}}
		})}
}

func rowDNSOverTCP() row {
	return row{group: gContract, name: "DNS over TCP: Service name -> its ClusterIP", what: "a pod resolves a Service name to its ClusterIP with every query over TCP",
		cells: perWorker(func(s *suite, _ ipFamily, n nodenet.NodeInfo, _ map[string]*corev1.Pod) []cell {
			from, svc := shellPod(s.short[n.Name]), webPod(s.short[n.Name])
			name := fmt.Sprintf("%s.%s.svc.cluster.local", svc, s.namespace)
			return []cell{{from: from, to: name, proto: "dns-tcp", check: dnsCheck(from, name, svc, s.namespace, "-transport", "tcp")}}
		})}
}

// loopbackNotFromOther: from a's hostNetwork pod, b's InternalIP on the
// 127.0.0.1-bound hostPort must not answer. To be a verdict on hostIP, b's
// plain hostPort must answer from a first (the path and portmap work).
func loopbackNotFromOther(s *suite, f ipFamily, a, b nodenet.NodeInfo, _ map[string]*corev1.Pod) []cell {
	from, ip := hostnetPod(s.short[a.Name]), f.nodeIP(b)
	c := cell{from: from, to: "hostport-127.0.0.1@node-" + s.short[b.Name] + " (must not answer)", proto: "http",
		check: func(ctx context.Context) (time.Duration, string, error) {
			if _, _, err := httpCheck(from, hostPort(ip, webHostPort), nil)(ctx); err != nil {
				return 0, "", fmt.Errorf("precondition: the plain hostPort %s does not answer either, no verdict on hostIP: %w", hostPort(ip, webHostPort), err)
			}
			addr := hostPort(ip, webLoopbackPort)
			out, err := execFrom(ctx, from, probe.HTTPCommand("http://"+addr+"/cgi-bin/ip")...)
			r, perr := probe.ParseHTTP(out)
			switch {
			case perr == nil:
				return 0, "", fmt.Errorf("%s answered (server saw %s): the hostPort bound to %s is reachable on the node's InternalIP", addr, probe.SourceIP(r.Body), loopbackHostIP)
			case err != nil && !strings.Contains(out, "rc="): // the exec failed, not the request: no verdict
				return 0, "", err
			}
			return 0, "not answered, as it should: " + perr.Error(), nil
		}}
	if f.v6() {
		c.skip = loopbackV6Reason
	}
	return []cell{c}
}
