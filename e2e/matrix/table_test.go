package matrix

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/cnigate/cnigate/e2e/harness/nodenet"
)

// fakeSuite is a cluster of one control plane and two workers as connect
// leaves it, without a cluster: cells are built, never run.
func fakeSuite(cni string, external bool, podCIDR bool) *suite {
	cidr := func(s string) string {
		if podCIDR {
			return s
		}
		return ""
	}
	nodes := []nodenet.NodeInfo{
		{Name: "k-control-plane", InternalIP: "172.18.0.2", PodCIDR: cidr("10.244.0.0/24"), ControlPlane: true},
		{Name: "k-worker", InternalIP: "172.18.0.3", PodCIDR: cidr("10.244.1.0/24")},
		{Name: "k-worker2", InternalIP: "172.18.0.4", PodCIDR: cidr("10.244.2.0/24")},
	}
	s := &suite{opt: Options{CNI: cni, AgentKills: 20, MTU: 1500, NodeHTTPPort: 18080, Image: "img", ImagePullPolicy: "Never"},
		clusterFacts: clusterFacts{nodes: nodes, workers: nodes[1:], namespace: "ns",
			short:   map[string]string{"k-control-plane": "cp", "k-worker": "w1", "k-worker2": "w2"},
			nodeCNI: map[string]string{}}}
	for _, n := range nodes {
		s.nodeCNI[n.Name] = cni
	}
	if external {
		s.external = &nodenet.ExternalHost{Name: "ext", IP: "172.18.0.9"}
	} else {
		s.extSkip = "docker network kind missing"
	}
	return s
}

func fakePods(s *suite) map[string]*corev1.Pod {
	pods := map[string]*corev1.Pod{}
	for i, p := range append(matrixPods(s), helperPods(s)...) {
		p.Status.PodIP = "10.244.9." + string(rune('1'+i))
		pods[p.Name] = p
	}
	return pods
}

// TestRowsBuildTheirCellsAndSkipForWhatTheyNeed walks the table as the
// suite does, on a 2-worker cluster: how many cells each row has, and which
// are skipped and why, with podnet and the external host, without the
// external host, with another CNI, and on nodes without a podCIDR.
func TestRowsBuildTheirCellsAndSkipForWhatTheyNeed(t *testing.T) {
	const external, podnet = "docker network kind missing", "podnet-only check"
	// cells per row on 2 workers: per worker or per pair (same: 2, other: 2),
	// ICMP+HTTP for the connectivity rows, per node (3) for the store counts.
	want := map[string]int{
		"pod -> own node": 4, "pod -> pod, same node": 4, "pod -> pod, other node": 4, "pod -> external (NAT)": 4,
		"node -> pod, same node": 4, "hostNetwork pod -> pod, other node": 4,
		bPodIPAM: 4, bReservations: 3, "churn": 0,
		// one cell per pass; per node; one per run
		"UDP to a Service whose backend is replaced, same source port": 1, "CNI and kube-proxy pods did not restart": 3,
		"no pod sandbox failures in the test namespace": 1,
	}
	for _, tc := range []struct {
		name             string
		cni              string
		external, cidr   bool
		skipped          map[string]string // row -> reason every cell gives (others: none skipped)
		behaviourOfIPAM  string
		protoOfIPAMCells string
	}{
		{name: "podnet, external host", cni: "podnet", external: true, cidr: true, skipped: map[string]string{}, behaviourOfIPAM: bPodIPAM, protoOfIPAMCells: "ipam"},
		{name: "podnet, no external host", cni: "podnet", cidr: true, skipped: map[string]string{
			"pod -> external (NAT)": external, "NodePort from the external host": external, "hostPort from the external host": external,
		}, behaviourOfIPAM: bPodIPAM, protoOfIPAMCells: "ipam"},
		{name: "bridge", cni: "bridge", external: true, cidr: true, skipped: map[string]string{bReservations: podnet},
			behaviourOfIPAM: bPodCIDR, protoOfIPAMCells: "podcidr"},
		{name: "bridge, nodes without podCIDR", cni: "bridge", external: true, skipped: map[string]string{bReservations: podnet, bPodIPAM: "has no spec.podCIDR"},
			behaviourOfIPAM: bPodCIDR, protoOfIPAMCells: "podcidr"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := fakeSuite(tc.cni, tc.external, tc.cidr)
			pods := fakePods(s)
			names := map[string]bool{}
			for _, r := range rows() {
				if r.group == "" || r.name == "" || r.what == "" || (r.cells == nil) == (r.run == nil) {
					t.Errorf("row %q: wants a group, a name, an assessment, and cells or run", r.name)
				}
				if names[r.name] {
					t.Errorf("row %q twice", r.name)
				}
				names[r.name] = true
				if r.run != nil || r.group == gHealing { // TestHealingCells
					continue
				}
				cells := r.rowCells(s, "ipv4", pods)
				n, ok := want[r.name]
				if !ok {
					n = 2 // the contract rows: one cell per worker or per pair
				}
				if len(cells) != n {
					t.Errorf("row %q: %d cells, want %d", r.name, len(cells), n)
				}
				seen := map[string]bool{}
				for _, c := range cells {
					if seen[c.name()] {
						t.Errorf("row %q: cell %s twice", r.name, c.name())
					}
					seen[c.name()] = true
					if c.check == nil {
						t.Errorf("row %q: cell %s has no check", r.name, c.name())
					}
					reason, skipped := tc.skipped[r.name]
					if skipped && !strings.Contains(c.skip, reason) {
						t.Errorf("row %q: cell %s skip %q, want it to say %q", r.name, c.name(), c.skip, reason)
					}
					if !skipped && c.skip != "" {
						t.Errorf("row %q: cell %s skipped (%s), want it to run", r.name, c.name(), c.skip)
					}
				}
				if r.name == bPodIPAM {
					if b := r.behaviour(s); b != tc.behaviourOfIPAM {
						t.Errorf("IPAM row reported as %q, want %q", b, tc.behaviourOfIPAM)
					}
					for _, c := range cells {
						if c.proto != tc.protoOfIPAMCells {
							t.Errorf("IPAM cell %s: proto %s, want %s", c.name(), c.proto, tc.protoOfIPAMCells)
						}
					}
				}
			}
		})
	}
}

// TestIPv6PassRunsEveryCell: on an IPv6-only cluster (nodes with only an
// IPv6 podCIDR and InternalIP) no cell of the IPv6 pass is skipped, the API
// server's included, and every cell is named with its family; in a dual
// cluster's IPv6 pass too, its API server cells dialling the IPv6 Service in
// front of the API server (the kubernetes Service is IPv4 there).
func TestIPv6PassRunsEveryCell(t *testing.T) {
	const apiRow = "API server over https://kubernetes.default"
	for _, tc := range []struct {
		families []string
		apiTo    string // the API server cells' destination
	}{
		{[]string{"ipv6"}, "https://kubernetes.default"},
		{[]string{"ipv4", "ipv6"}, "https://" + apiServer6Svc + " (IPv6 Service -> API server)"},
	} {
		s := fakeSuite("podnet", true, true)
		for i := range s.nodes {
			n := &s.nodes[i]
			n.InternalIP6, n.PodCIDR6 = "fc00::"+string(rune('2'+i)), "fd00:10:244:"+string(rune('0'+i))+"::/64"
			if len(tc.families) == 1 {
				n.InternalIP, n.PodCIDR = "", ""
			}
		}
		s.workers = s.nodes[1:]
		s.external.IP6 = "fc00::9"
		s.families = tc.families
		pods := fakePods(s)
		for _, p := range pods {
			p.Status.PodIPs = []corev1.PodIP{{IP: "fd00:10:244:1::" + strings.TrimPrefix(p.Status.PodIP, "10.244.9.")}}
			if len(tc.families) == 1 {
				p.Status.PodIP = p.Status.PodIPs[0].IP
			}
		}
		cells, apiCells := 0, 0
		for _, r := range rows() {
			if r.run != nil {
				continue
			}
			for _, c := range r.rowCells(s, "ipv6", pods) {
				cells++
				if r.name == apiRow {
					apiCells++
				}
				c.family = s.label("ipv6")
				if !strings.Contains(c.name(), "/ipv6:") {
					t.Errorf("%v: row %q: cell %s not named with its family", tc.families, r.name, c.name())
				}
				if c.skip != "" && c.skip != loopbackV6Reason { // the one thing IPv6 cannot do: hostIP ::1 (hostport.go)
					t.Errorf("%v: row %q: cell %s skipped: %s", tc.families, r.name, c.name(), c.skip)
				}
				if r.name == apiRow && c.to != tc.apiTo {
					t.Errorf("%v: API server cell %s goes to %q, want %q", tc.families, c.name(), c.to, tc.apiTo)
				}
			}
		}
		// the checks above ran on the cells: one API server cell per worker,
		// and no row silently without cells
		if apiCells != len(s.workers) || cells < len(rows())-1 {
			t.Errorf("%v: %d cells, %d API server cells; want one per row at least and %d API server cells", tc.families, cells, apiCells, len(s.workers))
		}
	}
}

func TestRowsKeepTheMatrixBehaviours(t *testing.T) {
	// docs/e2e.md's tables and its breakage table (E2E_BREAK) name these behaviours.
	names := map[string]string{}
	for _, r := range rows() {
		names[r.name] = r.group
	}
	for _, b := range []string{
		"pod -> own node", "pod -> pod, same node", "pod -> pod, other node", "pod -> external (NAT)",
		"node -> pod, same node", "hostNetwork pod -> pod, other node",
		"ClusterIP TCP, backend same node", "ClusterIP TCP, backend other node", "ClusterIP UDP, backend same node",
		"ClusterIP UDP, backend other node", "hairpin: pod -> own Service -> itself", "NodePort from another node",
		"NodePort from the external host", "DNS: Service name -> its ClusterIP", "DNS: kubernetes.default -> its ClusterIP",
		"API server over https://kubernetes.default", "hostPort from another node", "hostPort from the external host",
		"UDP pod -> pod, same node", "UDP pod -> pod, other node", "MTU: DF packet of exactly the MTU, same node",
		"MTU: DF packet of exactly the MTU, other node", "MTU: 1 MiB HTTP body intact, same node",
		"MTU: 1 MiB HTTP body intact, other node", "MTU: DF packet of MTU+1 does not pass, same node",
		"MTU: DF packet of MTU+1 does not pass, other node", bPodIPAM, bReservations, "churn",
		bHealRoute, bHealRules, bHealBinary, bAgentKilled, bNodeRestart, bUninstall, bNodeDelete,
		"hostPort on hostIP = node InternalIP, from another node", "hostPort on hostIP 127.0.0.1, from its own node",
		"hostPort on hostIP 127.0.0.1, not from another node", "UDP hostPort from another node", "DNS over TCP: Service name -> its ClusterIP",
		"UDP to a Service whose backend is replaced, same source port", "CNI and kube-proxy pods did not restart",
		"no pod sandbox failures in the test namespace",
	} {
		if _, ok := names[b]; !ok {
			t.Errorf("behaviour %q is not in the table", b)
		}
	}
	if got := groups(); strings.Join(got, ",") != "Connectivity,Contract,IPAM,Quality,Health,Healing" {
		t.Errorf("groups() = %v", got)
	}
}

func TestNeedSkip(t *testing.T) {
	for _, tc := range []struct {
		name     string
		needs    need
		cni      string
		external bool
		want     string
	}{
		{"nothing needed", 0, "bridge", false, ""},
		{"external, present", needExternal, "podnet", true, ""},
		{"external, missing", needExternal, "podnet", false, "docker network kind missing"},
		{"podnet, present", needPodnet, "podnet", false, ""},
		{"podnet, other CNI", needPodnet, "bridge", true, "podnet-only check, and the nodes' CNI is bridge"},
		{"both missing: podnet first", needPodnet | needExternal, "bridge", false, "podnet-only check"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.needs.skip(fakeSuite(tc.cni, tc.external, true))
			if (tc.want == "") != (got == "") || !strings.HasPrefix(got, tc.want) {
				t.Errorf("skip = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestOptionsValidate(t *testing.T) {
	ok := Options{CNI: "podnet", AgentImage: "cnigate/podnet-agent:t", NodeImage: "kindest/node:v1", Workers: 2, CellTimeout: 1, AgentKills: 20, Quality: defaultQuality()}
	for _, tc := range []struct {
		name string
		edit func(o *Options)
		want string
	}{
		{"kind mode", func(*Options) {}, ""},
		{"gate mode needs no node image", func(o *Options) { o.Kubeconfig, o.NodeImage = "kc", "" }, ""},
		{"unknown break", func(o *Options) { o.Break = "dns" }, `break "dns"`},
		{"break on an existing cluster", func(o *Options) { o.Kubeconfig, o.Break = "kc", "mtu" }, "never for an existing cluster"},
		{"unknown CNI", func(o *Options) { o.CNI = "flannel" }, `cni "flannel"`},
		{"no node image", func(o *Options) { o.NodeImage = "" }, "node-image is empty"},
		{"one worker", func(o *Options) { o.Workers = 1 }, "at least 2"},
		{"no cell timeout", func(o *Options) { o.CellTimeout = 0 }, "cell-timeout"},
		{"podnet without its image", func(o *Options) { o.AgentImage = "" }, "agent-image is empty"},
		{"bridge needs no podnet image", func(o *Options) { o.CNI, o.AgentImage = "bridge", "" }, ""},
		{"agent-routes break with bridge", func(o *Options) { o.CNI, o.Break = "bridge", "agent-routes" }, "use it with cni podnet"},
		{"agent-routes break with podnet", func(o *Options) { o.Break = "agent-routes" }, ""},
		{"no agent kills", func(o *Options) { o.AgentKills = 0 }, "agent-kills 0"},
		{"ipv4", func(o *Options) { o.IPFamily = "ipv4" }, ""},
		{"ipv6 only", func(o *Options) { o.IPFamily = "ipv6" }, ""},
		{"dual", func(o *Options) { o.IPFamily = "dual" }, ""},
		{"unknown family", func(o *Options) { o.IPFamily = "ipv5" }, `ip-family "ipv5": want ipv4, ipv6 or dual`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := ok
			tc.edit(&o)
			err := o.Validate()
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("Validate() = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestCellNamesCarryTheirFamily(t *testing.T) {
	for _, c := range []struct {
		c    cell
		want string
	}{
		{cell{from: "shell-w1", to: "web-w2", proto: "http"}, "http:shell-w1->web-w2"},
		{cell{from: "shell-w1", to: "web-w2", proto: "http", family: "ipv6"}, "http/ipv6:shell-w1->web-w2"},
		{cell{from: "shell-w1", to: "web-w2", proto: "udp-df-1500", family: "ipv4"}, "udp-df-1500/ipv4:shell-w1->web-w2"},
	} {
		if got := c.c.name(); got != c.want {
			t.Errorf("name() = %q, want %q", got, c.want)
		}
	}
}

func TestFamilyPicksAddresses(t *testing.T) {
	n := nodenet.NodeInfo{InternalIP: "172.18.0.3", PodCIDR: "10.244.1.0/24", InternalIP6: "fc00::3", PodCIDR6: "fd00:10:244:1::/64"}
	pod := &corev1.Pod{Status: corev1.PodStatus{PodIP: "10.244.1.5", PodIPs: []corev1.PodIP{{IP: "10.244.1.5"}, {IP: "fd00:10:244:1::5"}}}}
	for _, c := range []struct {
		families                         []string
		family, label, node, cidr, podIP string
	}{
		{[]string{"ipv4"}, "ipv4", "", "172.18.0.3", "10.244.1.0/24", "10.244.1.5"},
		{[]string{"ipv4", "ipv6"}, "ipv4", "ipv4", "172.18.0.3", "10.244.1.0/24", "10.244.1.5"},
		{[]string{"ipv4", "ipv6"}, "ipv6", "ipv6", "fc00::3", "fd00:10:244:1::/64", "fd00:10:244:1::5"},
		{[]string{"ipv6"}, "ipv6", "ipv6", "fc00::3", "fd00:10:244:1::/64", "fd00:10:244:1::5"},
	} {
		s, f := &suite{clusterFacts: clusterFacts{families: c.families}}, ipFamily(c.family)
		if got := s.label(f); got != c.label {
			t.Errorf("%v/%s: label %q, want %q", c.families, c.family, got, c.label)
		}
		if got := f.nodeIP(n); got != c.node {
			t.Errorf("%s: nodeIP %q, want %q", c.family, got, c.node)
		}
		if got := f.nodePodCIDR(n); got != c.cidr {
			t.Errorf("%s: nodePodCIDR %q, want %q", c.family, got, c.cidr)
		}
		if got := f.podIPOf(pod); got != c.podIP {
			t.Errorf("%s: podIPOf %q, want %q", c.family, got, c.podIP)
		}
	}
	// an IPv4-only pod has no address in the IPv6 pass: its cells fail saying so
	if got := ipFamily("ipv6").podIPOf(&corev1.Pod{Status: corev1.PodStatus{PodIP: "10.244.1.5"}}); got != "" {
		t.Errorf("IPv4-only pod in the IPv6 pass: %q", got)
	}
}

// TestDescribeNodesSortsPodCIDRsByFamily: spec.podCIDR is IPv6 on an
// IPv6-only cluster; each podCIDR goes to its family's field.
func TestDescribeNodesSortsPodCIDRsByFamily(t *testing.T) {
	node := func(name string, cidrs []string, ips ...string) corev1.Node {
		n := corev1.Node{}
		n.Name = name
		n.Spec.PodCIDR, n.Spec.PodCIDRs = cidrs[0], cidrs
		for _, ip := range ips {
			n.Status.Addresses = append(n.Status.Addresses, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: ip})
		}
		return n
	}
	got, _ := describeNodes([]corev1.Node{
		node("v4", []string{"10.244.1.0/24"}, "172.18.0.3"),
		node("v6", []string{"fd00:10:244:2::/64"}, "fc00::4"),
		node("x6", []string{"10.244.3.0/24", "fd00:10:244:3::/64"}, "172.18.0.5", "fc00::5"),
		func() corev1.Node { // an older API server: spec.podCIDR only
			n := node("old6", []string{"fd00:10:244:4::/64"}, "fc00::6")
			n.Spec.PodCIDRs = nil
			return n
		}(),
	})
	want := []nodenet.NodeInfo{ // by name
		{Name: "old6", InternalIP6: "fc00::6", PodCIDR6: "fd00:10:244:4::/64"},
		{Name: "v4", InternalIP: "172.18.0.3", PodCIDR: "10.244.1.0/24"},
		{Name: "v6", InternalIP6: "fc00::4", PodCIDR6: "fd00:10:244:2::/64"},
		{Name: "x6", InternalIP: "172.18.0.5", PodCIDR: "10.244.3.0/24", InternalIP6: "fc00::5", PodCIDR6: "fd00:10:244:3::/64"},
	}
	if len(got) != len(want) {
		t.Fatalf("%d nodes, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("node %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if !hasIPv6Side(node("v6", []string{"fd00:10:244:2::/64"}, "fc00::4")) || hasIPv6Side(node("v4", []string{"10.244.1.0/24"}, "172.18.0.3")) {
		t.Error("hasIPv6Side")
	}
}

// TestAPIServer6Objects: on a dual-stack cluster the IPv6 pass's API server
// Service is IPv6 only, selectorless, port https 443, and its EndpointSlice
// (IPv6, named for kube-proxy by its service-name label) points at the
// control-plane node's IPv6 InternalIP on the API server's port; a cluster
// without one is an error, and IPv4 or IPv6-only clusters dial kubernetes.
func TestAPIServer6Objects(t *testing.T) {
	s := fakeSuite("podnet", true, true)
	s.families = []string{"ipv4", "ipv6"}
	if !s.dual() {
		t.Fatal("dual: dual() false")
	}
	if _, _, err := apiServer6Objects(s, 6443); err == nil || !strings.Contains(err.Error(), "IPv6 InternalIP") {
		t.Errorf("control plane without IPv6: err %v", err)
	}
	s.nodes[0].InternalIP6, s.nodes[1].InternalIP6 = "fc00::2", "fc00::3"
	svc, eps, err := apiServer6Objects(s, 6443)
	if err != nil {
		t.Fatal(err)
	}
	if svc.Name != apiServer6Svc || svc.Namespace != "ns" || svc.Spec.Selector != nil ||
		len(svc.Spec.IPFamilies) != 1 || svc.Spec.IPFamilies[0] != corev1.IPv6Protocol ||
		len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Name != "https" || svc.Spec.Ports[0].Port != 443 {
		t.Errorf("service %+v", svc.Spec)
	}
	if eps.Labels[discoveryv1.LabelServiceName] != apiServer6Svc || eps.AddressType != discoveryv1.AddressTypeIPv6 ||
		len(eps.Endpoints) != 1 || strings.Join(eps.Endpoints[0].Addresses, ",") != "fc00::2" ||
		len(eps.Ports) != 1 || *eps.Ports[0].Name != "https" || *eps.Ports[0].Port != 6443 {
		t.Errorf("EndpointSlice %+v", eps)
	}
	for _, fam := range [][]string{{"ipv4"}, {"ipv6"}} {
		s.families = fam
		if s.dual() {
			t.Errorf("%v: dual() true", fam)
		}
	}
}

// The healing cells: kind clusters with podnet's agent only, each family's
// cell named with its family, one kill cell and its connectivity cells per
// kill, the disruptive cells never retried.
func TestHealingCells(t *testing.T) {
	dual := func() *suite {
		s := fakeSuite("podnet", true, true)
		for i := range s.nodes {
			s.nodes[i].InternalIP6, s.nodes[i].PodCIDR6 = fmt.Sprintf("fc00::%d", i+2), fmt.Sprintf("fd00:10:244:%d::/64", i)
		}
		s.workers = s.nodes[1:]
		s.families = []string{"ipv4", "ipv6"}
		s.opt.AgentKills = 3
		return s
	}
	for _, tc := range []struct {
		name  string
		s     func() *suite
		skip  string
		count map[string]int // cells per behaviour
	}{
		{"gate mode", func() *suite { s := fakeSuite("podnet", true, true); s.gate = true; return s }, "only on a kind cluster the harness created", nil},
		{"bridge", func() *suite { return fakeSuite("bridge", true, true) }, "the harness installed bridge by hand", nil},
		{"ipv4", func() *suite { s := fakeSuite("podnet", true, true); s.families = []string{"ipv4"}; return s }, "",
			map[string]int{bHealRoute: 1, bHealRules: 1, bHealBinary: 2, bAgentKilled: 40, bNodeRestart: 3, bUninstall: 1, bNodeDelete: 2}},
		{"dual", dual, "", map[string]int{bHealRoute: 2, bHealRules: 2, bHealBinary: 3, bAgentKilled: 9, bNodeRestart: 5, bUninstall: 1, bNodeDelete: 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.s()
			for _, r := range rows() {
				if r.group != gHealing {
					continue
				}
				if !r.sequential {
					t.Errorf("row %q is not sequential", r.name)
				}
				cells := r.rowCells(s, "ipv4", nil)
				if tc.skip != "" {
					if len(cells) != 1 || !strings.Contains(cells[0].skip, tc.skip) {
						t.Errorf("row %q: cells %+v, want one skipped with %q", r.name, cells, tc.skip)
					}
					continue
				}
				if len(cells) != tc.count[r.name] {
					t.Errorf("row %q: %d cells, want %d", r.name, len(cells), tc.count[r.name])
				}
				families := map[string]bool{}
				for _, c := range cells {
					if c.skip != "" || c.check == nil {
						t.Errorf("row %q: cell %s skipped (%q) or without a check", r.name, c.name(), c.skip)
					}
					if c.proto != "http" && !c.once {
						t.Errorf("row %q: disruptive cell %s would be retried", r.name, c.name())
					}
					families[c.family] = true
				}
				if s.dual() && (r.name == bHealRoute || r.name == bHealRules) && (!families["ipv4"] || !families["ipv6"]) {
					t.Errorf("row %q: families %v, want a cell per family", r.name, families)
				}
				if !s.has6() && !families[""] {
					t.Errorf("row %q: IPv4-only cells must carry no family, got %v", r.name, families)
				}
			}
		})
	}
}
