package matrix

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/e2e-framework/pkg/env"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/cnigate/cnigate/e2e/harness/nodenet"
)

// need is what a row needs of the cluster; a row whose need is missing has
// its cells listed as skipped, with the reason skip gives.
type need uint8

const (
	// needExternal: the external host (a docker container outside the cluster).
	needExternal need = 1 << iota
	// needPodnet: podnet on every node (its IPAM store is read).
	needPodnet
)

// skip is why a row with these needs cannot run on s ("" when it can).
func (n need) skip(s *suite) string {
	if n&needPodnet != 0 {
		if r := s.podnetSkip(); r != "" {
			return r
		}
	}
	if n&needExternal != 0 {
		if s.extSkip != "" {
			return s.extSkip
		}
		if s.external == nil {
			return "no external host"
		}
	}
	return ""
}

// Groups of rows, each a top-level subtest (go test -run TestE2E/Contract).
const (
	gConnectivity = "Connectivity"
	gContract     = "Contract"
	gIPAM         = "IPAM"
	// gHealing changes the nodes: it runs last, once (not per family: its
	// cells name their family), its cells one after another.
	gHealing = "Healing"
)

// row is one behaviour of the matrix: an e2e-framework feature whose cells
// (one per source, destination and protocol) run in parallel.
type row struct {
	group string
	// name is the behaviour as the report and docs/e2e.md list it.
	name string
	// withoutPodnet, when set, is the behaviour's name when the nodes do not
	// run podnet (its cells then check what any CNI must do).
	withoutPodnet string
	what          string // the assessment, one sentence
	needs         need
	// podIPs: the cells take the pods' IPs, resolved once when the row starts.
	podIPs bool
	// cells lists the cells on s in the pass of family f: which endpoints
	// (helpers same/other/perWorker), which protocol, which check. Cells a
	// single node cannot run (no podCIDR) carry their own skip.
	cells func(s *suite, f ipFamily, pods map[string]*corev1.Pod) []cell
	// run, when set, runs the behaviour itself in the pass of family f
	// (several steps: churn); cells then only list it when it is skipped.
	run func(ctx context.Context, t *testing.T, s *suite, f ipFamily)
	// sequential: the cells run one after another, each to its end, in
	// table order (they change the cluster).
	sequential bool
}

// behaviour is the row's name on s.
func (r row) behaviour(s *suite) string {
	if r.withoutPodnet != "" && s.podnetSkip() != "" {
		return r.withoutPodnet
	}
	return r.name
}

// rows is the matrix: adding a behaviour is adding a row.
func rows() []row {
	return withQualityRows([]row{
		// The tutorial's connectivity matrix.
		{group: gConnectivity, name: "pod -> own node", what: "pod reaches its own node's IP", podIPs: true,
			cells: perWorker(func(s *suite, f ipFamily, w nodenet.NodeInfo, _ map[string]*corev1.Pod) []cell {
				return both(shellPod(s.short[w.Name]), "node-"+s.short[w.Name], f.nodeIP(w), s.opt.NodeHTTPPort, nil)
			})},
		{group: gConnectivity, name: "pod -> pod, same node", what: "pod reaches a pod on its node, keeping its IP", podIPs: true,
			cells: pairs(true, shellToWeb)},
		{group: gConnectivity, name: "pod -> pod, other node", what: "pod reaches a pod on every other node, keeping its IP", podIPs: true,
			cells: pairs(false, shellToWeb)},
		{group: gConnectivity, name: "pod -> external (NAT)", what: "pod reaches a host outside the cluster, masqueraded to its node's IP", needs: needExternal, podIPs: true,
			cells: perWorker(func(s *suite, f ipFamily, w nodenet.NodeInfo, _ map[string]*corev1.Pod) []cell {
				return both(shellPod(s.short[w.Name]), "external", externalIP(s, f), nodenet.ExternalPort, fixed(f.nodeIP(w)))
			})},
		{group: gConnectivity, name: "node -> pod, same node", what: "node reaches the pods on it", podIPs: true,
			cells: pairs(true, hostnetToWeb)},
		{group: gConnectivity, name: "hostNetwork pod -> pod, other node", what: "hostNetwork pod reaches pods on other nodes", podIPs: true,
			cells: pairs(false, hostnetToWeb)},

		// The Kubernetes networking contract.
		{group: gContract, name: "ClusterIP TCP, backend same node", what: "a pod reaches a ClusterIP Service whose backend is on its node (TCP)", cells: pairs(true, toService("http"))},
		{group: gContract, name: "ClusterIP TCP, backend other node", what: "a pod reaches a ClusterIP Service whose backend is on another node (TCP)", cells: pairs(false, toService("http"))},
		{group: gContract, name: "ClusterIP UDP, backend same node", what: "a pod reaches a ClusterIP Service whose backend is on its node (UDP)", cells: pairs(true, toService("udp"))},
		{group: gContract, name: "ClusterIP UDP, backend other node", what: "a pod reaches a ClusterIP Service whose backend is on another node (UDP)", cells: pairs(false, toService("udp"))},
		rowUDPReplaced(), // udpreplace.go
		{group: gContract, name: "hairpin: pod -> own Service -> itself", what: "a pod reaches itself through its own Service (hairpin)",
			cells: perWorker(func(s *suite, f ipFamily, n nodenet.NodeInfo, _ map[string]*corev1.Pod) []cell {
				web := webPod(s.short[n.Name])
				return []cell{{from: web, to: "svc/" + web + " (itself)", proto: "http", check: httpVia(web, svcAddr(f, web, "http", ""))}}
			})},
		{group: gContract, name: "NodePort from another node", what: "a NodePort answers on a node's IP from another node", cells: pairs(false, fromHostnet("nodeport", nodePortAddr))},
		{group: gContract, name: "NodePort from the external host", what: "a NodePort answers on a node's IP from the external host", needs: needExternal, cells: perWorker(fromExternal("nodeport", nodePortAddr))},
		{group: gContract, name: "DNS: Service name -> its ClusterIP", what: "a pod resolves a Service name to its ClusterIP",
			cells: perWorker(func(s *suite, _ ipFamily, n nodenet.NodeInfo, _ map[string]*corev1.Pod) []cell {
				from, svc := shellPod(s.short[n.Name]), webPod(s.short[n.Name])
				name := fmt.Sprintf("%s.%s.svc.cluster.local", svc, s.namespace)
				return []cell{{from: from, to: name, proto: "dns", check: dnsCheck(from, name, svc, s.namespace)}}
			})},
		{group: gContract, name: "DNS: kubernetes.default -> its ClusterIP", what: "a pod resolves kubernetes.default to the API Service's ClusterIP",
			cells: perWorker(func(s *suite, _ ipFamily, n nodenet.NodeInfo, _ map[string]*corev1.Pod) []cell {
				from := shellPod(s.short[n.Name])
				return []cell{{from: from, to: "kubernetes.default", proto: "dns", check: dnsCheck(from, "kubernetes.default", "kubernetes", kubernetesSvcNS)}}
			})},
		rowDNSOverTCP(), // hostport.go
		{group: gContract, name: "API server over https://kubernetes.default", what: "a pod reaches the API server over HTTPS (any HTTP answer)",
			cells: perWorker(func(s *suite, f ipFamily, n nodenet.NodeInfo, _ map[string]*corev1.Pod) []cell {
				from := shellPod(s.short[n.Name])
				if f.v6() && s.dual() { // dual: the kubernetes Service is IPv4 only; an IPv6-only cluster's is IPv6
					return []cell{{from: from, to: "https://" + apiServer6Svc + " (IPv6 Service -> API server)", proto: "https",
						check: apiServerCheck(f, from, apiServer6Svc, s.namespace)}}
				}
				return []cell{{from: from, to: "https://kubernetes.default", proto: "https", check: apiServerCheck(f, from, "kubernetes", kubernetesSvcNS)}}
			})},
		{group: gContract, name: "hostPort from another node", what: "a pod's hostPort answers on its node's IP from another node", cells: pairs(false, fromHostnet("hostport", hostPortAddr))},
		{group: gContract, name: "hostPort from the external host", what: "a pod's hostPort answers on its node's IP from the external host", needs: needExternal, cells: perWorker(fromExternal("hostport", hostPortAddr))},
		rowHostPortHostIP(), rowHostPortLoopback(), rowHostPortLoopbackOther(), rowHostPortUDP(), // hostport.go
		{group: gContract, name: "UDP pod -> pod, same node", what: "UDP from a pod to a pod on its node", cells: pairs(true, shellToWebWith(func(*suite) string { return "udp" }, udpCheck))},
		{group: gContract, name: "UDP pod -> pod, other node", what: "UDP from a pod to a pod on another node", cells: pairs(false, shellToWebWith(func(*suite) string { return "udp" }, udpCheck))},
		{group: gContract, name: "MTU: DF packet of exactly the MTU, same node", what: "a DF packet of exactly the MTU passes to a pod on the same node", cells: pairs(true, shellToWebWith(mtuProto(0), dfCheck))},
		{group: gContract, name: "MTU: DF packet of exactly the MTU, other node", what: "a DF packet of exactly the MTU passes to a pod on another node", cells: pairs(false, shellToWebWith(mtuProto(0), dfCheck))},
		{group: gContract, name: "MTU: 1 MiB HTTP body intact, same node", what: "a 1 MiB HTTP body from a pod on the same node arrives intact", cells: pairs(true, shellToWebWith(func(*suite) string { return "http-1MiB" }, bodyCheck))},
		{group: gContract, name: "MTU: 1 MiB HTTP body intact, other node", what: "a 1 MiB HTTP body from a pod on another node arrives intact", cells: pairs(false, shellToWebWith(func(*suite) string { return "http-1MiB" }, bodyCheck))},
		{group: gContract, name: "MTU: DF packet of MTU+1 does not pass, same node", what: "a DF packet one byte over the MTU does not pass (same node)", cells: pairs(true, shellToWebWith(mtuProto(1), overCheck))},
		{group: gContract, name: "MTU: DF packet of MTU+1 does not pass, other node", what: "a DF packet one byte over the MTU does not pass (other node)", cells: pairs(false, shellToWebWith(mtuProto(1), overCheck))},

		// podnet's IPAM (what any CNI must do when podnet is not there).
		{group: gIPAM, name: bPodIPAM, withoutPodnet: bPodCIDR, what: "every pod's IP is in its node's podCIDR and reserved by podnet for it",
			cells: func(s *suite, f ipFamily, _ map[string]*corev1.Pod) []cell { return ipamCells(s, f) }},
		{group: gIPAM, name: bReservations, what: "each node's podnet reservations are exactly its podnet pods", needs: needPodnet,
			cells: func(s *suite, f ipFamily, _ map[string]*corev1.Pod) []cell { return countCells(s, f, nil) }},
		{group: gIPAM, name: "churn", what: "deleting and recreating the pods releases their IPs and does not hand them out again at once", needs: needPodnet,
			run: churn},

		// The run did not hurt the cluster (health.go): before Healing, which restarts the agent on purpose.
		rowAgentsNoRestart(), rowNoSandboxFailures(),

		// podnet's node agent keeps the node's network (docs/agent.md).
		{group: gHealing, name: bHealRoute, what: "a route to another node's pods deleted on a worker is back within 10 s", sequential: true, cells: healCells(bHealRoute)},
		{group: gHealing, name: bHealRules, what: "podnet's filter and nat rules flushed on a worker are back within 10 s", sequential: true, cells: healCells(bHealRules)},
		{group: gHealing, name: bHealBinary, what: "/opt/cni/bin/podnet removed on a worker is back within 10 s and a new pod starts there", sequential: true, cells: healCells(bHealBinary)},
		{group: gHealing, name: bAgentKilled, what: "the node broken and the agent SIGKILLed at a random moment while it repairs: the next agent restores the same routes, rules, conf and binary, pods talk again", sequential: true, cells: healCells(bAgentKilled)},
		{group: gHealing, name: bNodeRestart, what: "a restarted worker comes back Ready with its routes and rules, and its pods reach the others again", sequential: true, cells: healCells(bNodeRestart)},
		{group: gHealing, name: bUninstall, what: "with the agent gone and podnet uninstalled a worker turns NotReady; with the agent back, Ready again", sequential: true, cells: healCells(bUninstall)},
		{group: gHealing, name: bNodeDelete, what: "deleting a worker's Node removes the routes to its pod subnets on every other node; back as a new Node, its new pod subnets are routed and a new pod there reaches the others", sequential: true, cells: healCells(bNodeDelete)},
	})
}

// groups are the rows' groups, in table order.
func groups() []string {
	var gs []string
	seen := map[string]bool{}
	for _, r := range rows() {
		if !seen[r.group] {
			seen[r.group] = true
			gs = append(gs, r.group)
		}
	}
	return gs
}

// runGroup runs the rows of group g as e2e-framework features, in the pass
// of family f.
func runGroup(testEnv env.Environment, t *testing.T, g string, f ipFamily) {
	var fs []features.Feature
	for _, r := range rows() {
		if r.group != g {
			continue
		}
		fs = append(fs, features.New(r.name).Assess(r.what, func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
			s := suiteFrom(ctx)
			whole, partial := s.sel.row(r)
			ctx = withRow(ctx, rowName{group: r.group, name: r.name, whole: whole})
			if r.run != nil {
				if !whole { // it changes the cluster (churn): not even its cells' bookkeeping
					t.Skipf("%s/%s: not selected by --test %s", r.group, r.name, s.opt.Tests.String())
				}
				r.run(ctx, t, s, f)
				return ctx
			}
			var pods map[string]*corev1.Pod
			if r.podIPs && (whole || partial) {
				pods = ips(ctx, t)
			}
			if r.sequential {
				for i, c := range r.rowCells(s, f, pods) {
					// a step: t.Run returns once its (parallel) cell is done
					t.Run(fmt.Sprint(i+1), func(t *testing.T) { runCells(ctx, t, f, r.behaviour(s), []cell{c}) })
				}
				return ctx
			}
			runCells(ctx, t, f, r.behaviour(s), r.rowCells(s, f, pods))
			return ctx
		}).Feature())
	}
	_ = testEnv.Test(t, fs...)
}

// rowCells are the row's cells on s in the pass of family f, each skipped
// with the row's reason when a need is missing.
func (r row) rowCells(s *suite, f ipFamily, pods map[string]*corev1.Pod) []cell {
	cells := r.cells(s, f, pods)
	if skip := r.needs.skip(s); skip != "" {
		for i := range cells {
			if cells[i].skip == "" {
				cells[i].skip = skip
			}
		}
	}
	return cells
}

// cellsFor builds the cells of one pair of workers (a == b: same node) in
// the pass of family f.
type cellsFor func(s *suite, f ipFamily, a, b nodenet.NodeInfo, pods map[string]*corev1.Pod) []cell

// pairs: f for every worker a with b = a (same) or every b != a of the
// pair plan (other; every ordered pair unless --pair-plan says fewer).
func pairs(same bool, build cellsFor) func(*suite, ipFamily, map[string]*corev1.Pod) []cell {
	return func(s *suite, f ipFamily, pods map[string]*corev1.Pod) []cell {
		var cells []cell
		if same {
			for _, a := range s.workers {
				cells = append(cells, build(s, f, a, a, pods)...)
			}
			return cells
		}
		for _, p := range s.pairsOfOtherNodes() {
			cells = append(cells, build(s, f, p.From, p.To, pods)...)
		}
		return cells
	}
}

// workerCells builds the cells of one worker in the pass of family f.
type workerCells func(s *suite, f ipFamily, n nodenet.NodeInfo, pods map[string]*corev1.Pod) []cell

// perWorker: build once per worker the matrix uses.
func perWorker(build workerCells) func(*suite, ipFamily, map[string]*corev1.Pod) []cell {
	return func(s *suite, f ipFamily, pods map[string]*corev1.Pod) []cell {
		var cells []cell
		for _, n := range s.workers {
			cells = append(cells, build(s, f, n, pods)...)
		}
		return cells
	}
}

// podIP is a pod's IP in family f from the row's resolved pods ("" when
// absent: the cell's check then fails saying so).
func podIP(f ipFamily, pods map[string]*corev1.Pod, name string) string {
	if p, ok := pods[name]; ok {
		return f.podIPOf(p)
	}
	return ""
}

func externalIP(s *suite, f ipFamily) string {
	if s.external == nil {
		return ""
	}
	return f.pickIP(s.external.IP, s.external.IP6)
}

// shellToWeb: ICMP and HTTP from a's shell pod to b's web pod, the server
// seeing the shell pod's own IP.
func shellToWeb(s *suite, f ipFamily, a, b nodenet.NodeInfo, pods map[string]*corev1.Pod) []cell {
	sh, web := shellPod(s.short[a.Name]), webPod(s.short[b.Name])
	return both(sh, web, podIP(f, pods, web), webPort, fixed(podIP(f, pods, sh)))
}

// hostnetToWeb: ICMP and HTTP from a's hostNetwork pod to b's web pod.
func hostnetToWeb(s *suite, f ipFamily, a, b nodenet.NodeInfo, pods map[string]*corev1.Pod) []cell {
	web := webPod(s.short[b.Name])
	return both(hostnetPod(s.short[a.Name]), web, podIP(f, pods, web), webPort, nil)
}

// toService: a's shell pod to the ClusterIP Service of b's web pod.
func toService(proto string) cellsFor {
	return func(s *suite, f ipFamily, a, b nodenet.NodeInfo, _ map[string]*corev1.Pod) []cell {
		from, svc := shellPod(s.short[a.Name]), webPod(s.short[b.Name])
		c := cell{from: from, to: "svc/" + svc, proto: proto}
		if proto == "udp" {
			c.check = udpEcho(from, svcAddr(f, svc, "udp", ""), 64, false)
		} else {
			c.check = httpVia(from, svcAddr(f, svc, "http", ""))
		}
		return []cell{c}
	}
}

// nodeAddr is an address in family f on node n (a NodePort, a hostPort),
// resolved at check time.
type nodeAddr func(s *suite, f ipFamily, n nodenet.NodeInfo) func(context.Context) (string, error)

func nodePortAddr(s *suite, f ipFamily, n nodenet.NodeInfo) func(context.Context) (string, error) {
	return svcAddr(f, webPod(s.short[n.Name]), "http", f.nodeIP(n))
}

func hostPortAddr(_ *suite, f ipFamily, n nodenet.NodeInfo) func(context.Context) (string, error) {
	ip := f.nodeIP(n)
	return func(context.Context) (string, error) { return hostPort(ip, webHostPort), nil }
}

// fromHostnet: HTTP from a's hostNetwork pod to addr on node b.
func fromHostnet(to string, addr nodeAddr) cellsFor {
	return func(s *suite, f ipFamily, a, b nodenet.NodeInfo, _ map[string]*corev1.Pod) []cell {
		from := hostnetPod(s.short[a.Name])
		return []cell{{from: from, to: to + "@node-" + s.short[b.Name], proto: "http", check: httpVia(from, addr(s, f, b))}}
	}
}

// fromExternal: HTTP from the external host to addr on node n.
func fromExternal(to string, addr nodeAddr) workerCells {
	return func(s *suite, f ipFamily, n nodenet.NodeInfo, _ map[string]*corev1.Pod) []cell {
		return []cell{{from: externalFrom, to: to + "@node-" + s.short[n.Name], proto: "http", check: httpVia(externalFrom, addr(s, f, n))}}
	}
}

type check = func(context.Context) (time.Duration, string, error)

// shellToWebWith: one cell from a's shell pod to b's web pod, proto and
// check chosen by the row (proto read when the cells are built: it may
// depend on the options, e.g. the MTU).
func shellToWebWith(proto func(s *suite) string, newCheck func(s *suite, f ipFamily, from, to string) check) cellsFor {
	return func(s *suite, f ipFamily, a, b nodenet.NodeInfo, _ map[string]*corev1.Pod) []cell {
		from, to := shellPod(s.short[a.Name]), webPod(s.short[b.Name])
		return []cell{{from: from, to: to, proto: proto(s), check: newCheck(s, f, from, to)}}
	}
}

// mtuProto names the MTU cells' protocol: a DF UDP packet of MTU+over bytes.
func mtuProto(over int) func(s *suite) string {
	return func(s *suite) string { return fmt.Sprintf("udp-df-%d", s.opt.MTU+over) }
}

func udpCheck(_ *suite, f ipFamily, from, to string) check {
	return udpEcho(from, podIPAddr(f, to, probeUDPPort), 64, false)
}

func dfCheck(s *suite, f ipFamily, from, to string) check {
	hdr := udpHeaderBytes
	if f.v6() {
		hdr = udp6HeaderBytes
	}
	return udpEcho(from, podIPAddr(f, to, probeUDPPort), s.opt.MTU-hdr, true)
}

func overCheck(_ *suite, f ipFamily, from, to string) check {
	return func(ctx context.Context) (time.Duration, string, error) {
		a, err := podIPAddr(f, to, probeUDPPort)(ctx)
		if err != nil {
			return 0, "", err
		}
		return mtuOverCheck(f, from, a)(ctx)
	}
}

func bodyCheck(_ *suite, f ipFamily, from, to string) check {
	return probeCheck(from, func(ctx context.Context) ([]string, error) {
		a, err := podIPAddr(f, to, probeHTTPPort)(ctx)
		if err != nil {
			return nil, err
		}
		return []string{"http", fmt.Sprintf("http://%s/bytes?n=%d", a, bodySize), "-bytes", fmt.Sprint(bodySize)}, nil
	}, nil)
}

// apiServerCheck dials the ClusterIP, in family f, of Service svc/ns in
// front of the API server, and verifies the API server's certificate for
// the name kubernetes.default: the cell is about reachability, DNS has its
// own.
func apiServerCheck(f ipFamily, from, svc, ns string) check {
	return probeCheck(from, func(ctx context.Context) ([]string, error) {
		s := suiteFrom(ctx)
		sv, err := getService(ctx, s, svc, ns)
		if err != nil {
			return nil, err
		}
		p, err := servicePort(sv, "https", false)
		if err != nil {
			return nil, err
		}
		ip := f.pickIP(append([]string{sv.Spec.ClusterIP}, sv.Spec.ClusterIPs...)...)
		if ip == "" {
			return nil, fmt.Errorf("service %s/%s has no %s ClusterIP (%v)", ns, svc, f, sv.Spec.ClusterIPs)
		}
		return []string{"https", "https://kubernetes.default/", "-connect", hostPort(ip, int(p))}, nil
	}, nil)
}
