package matrix

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/version"
	fakediscovery "k8s.io/client-go/discovery/fake"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/cnigate/cnigate/e2e/harness/nodenet"
	"github.com/cnigate/cnigate/results"
)

func node(name string, cidrs ...string) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.NodeSpec{PodCIDRs: cidrs}}
	if len(cidrs) > 0 {
		n.Spec.PodCIDR = cidrs[0]
	}
	n.Status.NodeInfo = corev1.NodeSystemInfo{KubeletVersion: "v1.34.4", ContainerRuntimeVersion: "containerd://2.1.4", KernelVersion: "6.1.0", OSImage: "Debian GNU/Linux 12"}
	return n
}

func apiService(fams ...corev1.IPFamily) *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "kubernetes", Namespace: kubernetesSvcNS}, Spec: corev1.ServiceSpec{IPFamilies: fams}}
}

// The families of an existing cluster come from it (fake clientset); an
// explicit ip-family it cannot serve is an error naming it.
func TestReadFamilies(t *testing.T) {
	dual := []runtime.Object{node("cp", "10.244.0.0/24", "fd00:10:244::/64"), node("w1", "10.244.1.0/24", "fd00:10:244:1::/64"), apiService(corev1.IPv4Protocol)}
	v4 := []runtime.Object{node("cp", "10.244.0.0/24"), node("w1", "10.244.1.0/24"), apiService(corev1.IPv4Protocol)}
	for _, tc := range []struct {
		name     string
		objects  []runtime.Object
		explicit string
		want     []string
		wantErr  string
	}{
		{name: "dual cluster: both passes", objects: dual, want: []string{"ipv4", "ipv6"}},
		{name: "dual cluster, ipv6 asked", objects: dual, explicit: "ipv6", want: []string{"ipv6"}},
		{name: "dual cluster, ipv4 asked", objects: dual, explicit: "ipv4", want: []string{"ipv4"}},
		{name: "IPv4 cluster", objects: v4, want: []string{"ipv4"}},
		{name: "IPv4 cluster, dual asked", objects: v4, explicit: "dual", wantErr: "ip-family dual: the cluster has no ipv6 (it serves ipv4, from the nodes' spec.podCIDRs)"},
		{name: "IPv4 cluster, ipv6 asked", objects: v4, explicit: "ipv6", wantErr: "ip-family ipv6: the cluster has no ipv6"},
		{name: "IPv6-only cluster", objects: []runtime.Object{node("cp", "fd00:10:244::/64"), apiService(corev1.IPv6Protocol)}, want: []string{"ipv6"}},
		{name: "no podCIDRs: the kubernetes Service", objects: []runtime.Object{node("cp"), node("w1"), apiService(corev1.IPv6Protocol)}, want: []string{"ipv6"}},
		{name: "no podCIDRs, no Service: IPv4", objects: []runtime.Object{node("cp")}, want: []string{"ipv4"}},
		{name: "a bad family", objects: v4, explicit: "ipv5", wantErr: `ip-family "ipv5"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readFamilies(context.Background(), fake.NewClientset(tc.objects...), tc.explicit)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestPullPolicyAndMode(t *testing.T) {
	for _, tc := range []struct {
		name     string
		o        Options
		existing bool
		want     corev1.PullPolicy
	}{
		{name: "kind: Never", o: Options{}, want: corev1.PullNever},
		{name: "kubeconfig: IfNotPresent", o: Options{Kubeconfig: "kc"}, existing: true, want: corev1.PullIfNotPresent},
		{name: "context: IfNotPresent", o: Options{ClusterAccess: ClusterAccess{Context: "prod"}}, existing: true, want: corev1.PullIfNotPresent},
		{name: "KUBECONFIG / in-cluster", o: Options{ClusterAccess: ClusterAccess{ExistingCluster: true}}, existing: true, want: corev1.PullIfNotPresent},
		{name: "given wins", o: Options{Kubeconfig: "kc", ImagePullPolicy: "Always"}, existing: true, want: corev1.PullAlways},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.o.Existing(); got != tc.existing {
				t.Errorf("Existing() = %v, want %v", got, tc.existing)
			}
			if got := pullPolicy(tc.o); got != tc.want {
				t.Errorf("pullPolicy = %s, want %s", got, tc.want)
			}
		})
	}
}

// restConfig honours KUBECONFIG and --context, and says where it came from.
func TestRestConfig(t *testing.T) {
	dir := t.TempDir()
	kc := filepath.Join(dir, "config")
	if err := os.WriteFile(kc, []byte(`apiVersion: v1
kind: Config
clusters:
- {name: a, cluster: {server: "https://a.example:6443"}}
- {name: b, cluster: {server: "https://b.example:6443"}}
users:
- {name: u, user: {token: x}}
contexts:
- {name: ctx-a, context: {cluster: a, user: u}}
- {name: ctx-b, context: {cluster: b, user: u}}
current-context: ctx-a
`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KUBECONFIG", kc)
	for _, tc := range []struct {
		name       string
		o          Options
		wantHost   string
		wantAccess string
		wantErr    string
	}{
		{name: "KUBECONFIG, current context", o: Options{ClusterAccess: ClusterAccess{ExistingCluster: true}}, wantHost: "https://a.example:6443", wantAccess: "context ctx-a"},
		{name: "KUBECONFIG, --context", o: Options{ClusterAccess: ClusterAccess{Context: "ctx-b"}}, wantHost: "https://b.example:6443", wantAccess: "context ctx-b"},
		{name: "--kubeconfig file", o: Options{Kubeconfig: kc}, wantHost: "https://a.example:6443", wantAccess: "kubeconfig " + kc},
		{name: "an unknown context", o: Options{ClusterAccess: ClusterAccess{Context: "nope"}}, wantErr: `context "nope"`},
		{name: "a missing file", o: Options{Kubeconfig: filepath.Join(dir, "missing")}, wantErr: "missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc, access, err := restConfig(tc.o)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rc.Host != tc.wantHost || !strings.Contains(access, tc.wantAccess) {
				t.Errorf("host %s access %q; want %s, %q", rc.Host, access, tc.wantHost, tc.wantAccess)
			}
		})
	}
}

// cleanup deletes exactly the labelled namespaces and their external hosts.
func TestCleanup(t *testing.T) {
	labelled := func(name string) *corev1.Namespace {
		return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{runLabel: "true"}}}
	}
	cs := fake.NewClientset(labelled("podnet-e2e-aaa"), labelled("podnet-e2e-bbb"),
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "prod"}})
	var out bytes.Buffer
	var removed []string
	err := cleanup(context.Background(), cs, &out, func(name string) (bool, error) {
		if name == "podnet-e2e-bbb-external" {
			return false, errors.New("docker: boom")
		}
		removed = append(removed, name)
		return true, nil
	})
	if err == nil || !strings.Contains(err.Error(), "podnet-e2e-bbb-external: docker: boom") {
		t.Errorf("err %v, want the failed container named", err)
	}
	left, _ := cs.CoreV1().Namespaces().List(context.Background(), metav1.ListOptions{})
	if len(left.Items) != 1 || left.Items[0].Name != "prod" {
		t.Errorf("namespaces left: %v, want prod only", left.Items)
	}
	if !slices.Equal(removed, []string{"podnet-e2e-aaa-external"}) || !strings.Contains(out.String(), "deleted namespace podnet-e2e-aaa") {
		t.Errorf("removed %v, out %q", removed, out.String())
	}
}

// TestParseRequire: which behaviours must run when their skip is applicable
// (a skip the cluster cannot help is decided by its reason: TestCoverage).
func TestParseRequire(t *testing.T) {
	for _, tc := range []struct {
		require string
		want    map[string]bool // behaviour -> required
		wantErr string
	}{
		{require: "", want: map[string]bool{"pod -> external (NAT)": true, "churn": true}},
		{require: "runnable", want: map[string]bool{"pod -> external (NAT)": true, "churn": true}},
		{require: "all", want: map[string]bool{"pod -> external (NAT)": true, "churn": true}},
		{require: "none", want: map[string]bool{"pod -> external (NAT)": false, "churn": false}},
		{require: "NodePort, churn", want: map[string]bool{"NodePort from the external host": true, "pod -> external (NAT)": false, "churn": true}},
		{require: "(", wantErr: `"(" is neither a profile`},
	} {
		t.Run(tc.require, func(t *testing.T) {
			r, err := parseRequire(tc.require)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			for b, want := range tc.want {
				if got := r.required(b); got != want {
					t.Errorf("required(%q) = %v, want %v", b, got, want)
				}
			}
		})
	}
}

// The verdict's coverage line: NOT a full gate when a required behaviour
// skipped (an existing cluster seen from a docker-less host), enforced on
// kind and with an explicit --require.
func TestCoverage(t *testing.T) {
	nat := results.Cell{Behaviour: "pod -> external (NAT)", Name: "http:shell-w1->external", Protocol: "http", Result: results.Skip, Detail: "no docker here"}
	// podnetOnly stands for the suite's podnet-only reason (podnetSkip), which
	// rowCells gives every cell of a needPodnet row.
	const podnetOnly = "<podnetSkip>"
	reservations := results.Cell{Behaviour: bReservations, Name: "ipam:node-w1->store@w1", Protocol: "ipam", Result: results.Skip, Detail: podnetOnly}
	pass := results.Cell{Behaviour: "pod -> pod, same node", Name: "icmp:shell-w1->web-w1", Protocol: "icmp", Result: results.Pass}
	for _, tc := range []struct {
		name        string
		gate        bool
		require     string
		cells       []results.Cell
		wantFull    bool
		wantLine    string
		wantFailure string
		// cni overrides the nodes' CNI; churnSkipped adds a churn cell
		// (named otherwise than its row) skipped with the suite's podnet-only
		// reason
		cni          string
		churnSkipped bool
	}{
		{name: "existing cluster, docker-less: NOT a full gate, not failed", gate: true, cells: []results.Cell{pass, nat, reservations},
			wantLine: "1 passed, 0 failed, 2 skipped: NOT a full gate (required: runnable; pod -> external (NAT): 1 cells skipped (no docker here))"},
		{name: "existing cluster, --require NAT: failed", gate: true, require: "NAT", cells: []results.Cell{pass, nat},
			wantLine: "NOT a full gate", wantFailure: "required behaviours skipped (require NAT): pod -> external (NAT) (1 cells: no docker here)"},
		{name: "existing cluster, --require none: full", gate: true, require: "none", cells: []results.Cell{pass, nat}, wantFull: true,
			wantLine: "1 passed, 0 failed, 1 skipped: full coverage"},
		{name: "kind: a skip fails by default", cells: []results.Cell{pass, nat}, wantLine: "NOT a full gate", wantFailure: "pod -> external (NAT)"},
		{name: "kind, all ran", cells: []results.Cell{pass}, wantFull: true, wantLine: "1 passed, 0 failed, 0 skipped: full coverage"},
		{name: "another CNI: podnet's own checks are not required", gate: true, cells: []results.Cell{pass, reservations}, wantFull: true, wantLine: "full coverage"},
		{name: "kind with bridge: churn's podnet-only cells are not required", cni: "bridge", churnSkipped: true, cells: []results.Cell{pass}, wantFull: true, wantLine: "full coverage"},
		{name: "kind dual: hostIP ::1 in the IPv6 pass is not required", cells: []results.Cell{pass,
			{Behaviour: "hostPort on hostIP 127.0.0.1, from its own node", Name: "http/ipv6:hostnet-w1->loopback", Result: results.Skip, Detail: loopbackV6Reason}},
			wantFull: true, wantLine: "full coverage"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// existing cluster: kindnet (podnet's own checks do not apply); kind: podnet
			cni := map[bool]string{true: "kindnet", false: "podnet"}[tc.gate]
			if tc.cni != "" {
				cni = tc.cni
			}
			s := &suite{opt: Options{CNI: "podnet", ClusterAccess: ClusterAccess{Require: tc.require}}, clusterFacts: clusterFacts{gate: tc.gate,
				nodes: []nodenet.NodeInfo{{Name: "n"}, {Name: "w1"}, {Name: "w2"}}, nodeCNI: map[string]string{"n": cni, "w1": cni, "w2": cni}}}
			s.workers = s.nodes[1:]
			for _, c := range tc.cells {
				if c.Detail == podnetOnly {
					c.Detail = s.podnetSkip()
				}
				s.matrix.Add(c)
			}
			if tc.churnSkipped {
				s.matrix.Add(results.Cell{Behaviour: "churn: IPs released", Name: "ipam:churn-w1", Result: results.Skip, Detail: s.podnetSkip()})
			}
			m := s.matrix.Result(nil, nil)
			c, failure := coverage(s, m)
			if c.Full != tc.wantFull || !strings.Contains(c.Summary(m), tc.wantLine) {
				t.Errorf("full %v, line %q; want %v, %q", c.Full, c.Summary(m), tc.wantFull, tc.wantLine)
			}
			if (failure == "") != (tc.wantFailure == "") || !strings.Contains(failure, tc.wantFailure) {
				t.Errorf("failure %q, want %q", failure, tc.wantFailure)
			}
		})
	}
}

// The record: nodes as the API server has them (fake clientset), each with
// its CNI conf's file, hash and first plugin type.
func TestReadRecord(t *testing.T) {
	cs := fake.NewClientset(node("w1", "10.244.1.0/24", "fd00:10:244:1::/64"), node("cp", "10.244.0.0/24"))
	cs.Discovery().(*fakediscovery.FakeDiscovery).FakedServerVersion = &version.Info{GitVersion: "v1.34.4"}
	conf := "@@ 10-podnet.conflist\n{\"cniVersion\":\"1.0.0\",\"name\":\"podnet\",\"plugins\":[{\"type\":\"podnet\"},{\"type\":\"portmap\"}]}\n"
	r := &results.Record{}
	readRecord(context.Background(), cs, r, map[string]string{"w1": conf, "cp": "garbage"})
	if r.Kubernetes != "v1.34.4" || len(r.Nodes) != 2 || r.Nodes[0].Name != "cp" {
		t.Fatalf("record %+v", r)
	}
	w1 := r.Nodes[1]
	if w1.Kubelet != "v1.34.4" || w1.Runtime != "containerd://2.1.4" || w1.Kernel != "6.1.0" || w1.OSImage != "Debian GNU/Linux 12" ||
		!slices.Equal(w1.PodCIDRs, []string{"10.244.1.0/24", "fd00:10:244:1::/64"}) {
		t.Errorf("w1 %+v", w1)
	}
	if c := w1.CNIConf; c == nil || c.File != "10-podnet.conflist" || c.FirstType != "podnet" || len(c.SHA256) != 64 || c.Error != "" {
		t.Errorf("w1 conf %+v", w1.CNIConf)
	}
	if c := r.Nodes[0].CNIConf; c == nil || c.Error == "" || c.SHA256 != "" {
		t.Errorf("cp conf %+v, want an error and no hash", c)
	}
}

func TestTarDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "diag")
	if err := os.MkdirAll(filepath.Join(dir, "nodes", "w1"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "nodes", "w1", "routes-ipv4.txt"), []byte("default via 172.18.0.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(filepath.Dir(dir), "diag.tar.gz")
	if err := tarDir(dir, dest); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(dest)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var names []string
	var body string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if h.Name == "diag/nodes/w1/routes-ipv4.txt" {
			b, _ := io.ReadAll(tr)
			body = string(b)
		}
	}
	if !slices.Equal(names, []string{"diag/", "diag/nodes/", "diag/nodes/w1/", "diag/nodes/w1/routes-ipv4.txt"}) || body != "default via 172.18.0.1\n" {
		t.Errorf("tar %v, body %q", names, body)
	}
}

func TestDescribeEvents(t *testing.T) {
	at := func(s int) metav1.Time { return metav1.NewTime(time.Date(2026, 12, 6, 21, 0, s, 0, time.UTC)) }
	got := describeEvents([]corev1.Event{
		{InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "web-w1"}, Type: "Warning", Reason: "FailedCreatePodSandBox", Message: "plugin type=\"podnet\" failed", LastTimestamp: at(5), Count: 3},
		{InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "shell-w1"}, Type: "Normal", Reason: "Scheduled", Message: "assigned", LastTimestamp: at(1)},
	})
	want := "2026-12-06T21:00:01Z Normal Pod/shell-w1 Scheduled x1: assigned\n2026-12-06T21:00:05Z Warning Pod/web-w1 FailedCreatePodSandBox x3: plugin type=\"podnet\" failed\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// Every knob of existing-cluster mode is a flag with help.
func TestClusterAccessFlags(t *testing.T) {
	fs := flag.NewFlagSet("e2e", flag.ContinueOnError)
	var o Options
	o.Register(fs, "")
	for _, name := range []string{"context", "existing-cluster", "require", "cleanup"} {
		if f := fs.Lookup(name); f == nil || f.Usage == "" {
			t.Errorf("flag --%s missing or without help", name)
		}
	}
	if err := fs.Parse([]string{"--context", "prod", "--require", "NAT,("}); err != nil {
		t.Fatal(err)
	}
	if !o.Existing() {
		t.Error("--context does not select existing-cluster mode")
	}
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), "require") {
		t.Errorf("Validate: %v, want the bad --require named", err)
	}
}

// The diag pod reads the node: privileged, in its network and PID
// namespaces, on any node (every taint tolerated), and is no matrix pod.
func TestDiagNodePod(t *testing.T) {
	s := &suite{clusterFacts: clusterFacts{namespace: "podnet-e2e-x"}, opt: Options{Image: "img", ImagePullPolicy: "IfNotPresent"}}
	p := diagNodePod(s, "node-1", "w1")
	c := p.Spec.Containers[0]
	if p.Name != "diag-w1" || p.Namespace != "podnet-e2e-x" || p.Spec.NodeSelector[corev1.LabelHostname] != "node-1" {
		t.Errorf("pod %s/%s on %v", p.Namespace, p.Name, p.Spec.NodeSelector)
	}
	if !p.Spec.HostNetwork || !p.Spec.HostPID || c.SecurityContext == nil || c.SecurityContext.Privileged == nil || !*c.SecurityContext.Privileged {
		t.Errorf("hostNetwork %v hostPID %v securityContext %+v", p.Spec.HostNetwork, p.Spec.HostPID, c.SecurityContext)
	}
	if len(p.Spec.Tolerations) != 1 || p.Spec.Tolerations[0].Operator != corev1.TolerationOpExists {
		t.Errorf("tolerations %v", p.Spec.Tolerations)
	}
	if p.Labels["app"] == appLabel || c.Image != "img" || c.ImagePullPolicy != corev1.PullIfNotPresent {
		t.Errorf("labels %v image %s %s", p.Labels, c.Image, c.ImagePullPolicy)
	}
}

// The coverage rule decides by reason alone, so every cell of a row the
// cluster cannot have must carry one of notApplicable's reasons: podnet's
// own rows on another CNI, the healing rows on an existing cluster or with
// the bridge CNI.
func TestNotApplicableRowsSkipWithTheirReason(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    func() *suite
	}{
		{"bridge", func() *suite { return fakeSuite("bridge", true, true) }},
		{"existing cluster with kindnet", func() *suite { s := fakeSuite("kindnet", true, true); s.gate = true; return s }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.s()
			na := notApplicable(s)
			for _, r := range rows() {
				if (r.needs&needPodnet == 0 && r.group != gHealing) || r.run != nil { // churn, skipped, lists countCells': the reservations row's
					continue
				}
				cells := r.rowCells(s, "ipv4", fakePods(s))
				if len(cells) == 0 {
					t.Errorf("row %q lists no cells", r.name)
				}
				for _, c := range cells {
					if !slices.ContainsFunc(na, func(reason string) bool { return strings.Contains(c.skip, reason) }) {
						t.Errorf("row %q: cell %s skips with %q, not one of %q", r.name, c.name(), c.skip, na)
					}
				}
			}
		})
	}
}
