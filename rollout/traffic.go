package rollout

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/cnigate/cnigate/results"
	"github.com/cnigate/cnigate/rollout/flow"
)

// The gate's own pods, all in one namespace it creates and deletes: per
// traffic node a stream server (srv-<node>) with a ClusterIP Service
// (svc-<node>) and a stream client (cli-<node>) whose targets are the server
// on its own node, the server on the next node and that node's Service.

const (
	tcpPort   = 7000
	udpPort   = 7001
	appLabel  = "cnigate-rollout"
	roleLabel = "cnigate-rollout/role"
	podLabel  = "cnigate-rollout/pod"
	container = "probe"
)

func isConflict(err error) bool { return apierrors.IsConflict(err) }
func isNotFound(err error) bool { return apierrors.IsNotFound(err) }

type traffic struct {
	cs        kubernetes.Interface
	namespace string
	image     string
	pull      corev1.PullPolicy
	nodes     []string // traffic nodes, sorted
	interval  time.Duration
	connect   time.Duration
	podIPs    map[string]string // srv pod → IP
	svcIPs    map[string]string // svc → ClusterIP

	mu     sync.Mutex
	events map[string][]flow.Event // by client pod, the last read
}

func srvName(node string) string { return "srv-" + node }
func cliName(node string) string { return "cli-" + node }
func svcName(node string) string { return "svc-" + node }

// pod is one of the gate's pods on node running the probe with args.
func (tr *traffic) pod(name, node, role string, args []string) *corev1.Pod {
	grace := int64(1)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: tr.namespace,
			Labels: map[string]string{"app": appLabel, roleLabel: role, podLabel: name}},
		Spec: corev1.PodSpec{
			NodeName:                      node, // not the scheduler's choice: the node under test
			TerminationGracePeriodSeconds: &grace,
			RestartPolicy:                 corev1.RestartPolicyNever, // a restart would hide a crash: it is a failure
			Tolerations:                   []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
			Containers: []corev1.Container{{Name: container, Image: tr.image, ImagePullPolicy: tr.pull,
				Command: append([]string{"probe"}, args...)}},
		},
	}
}

func (tr *traffic) serverPod(name, node string) *corev1.Pod {
	p := tr.pod(name, node, "server", []string{"stream-server", "-tcp", fmt.Sprintf(":%d", tcpPort), "-udp", fmt.Sprintf(":%d", udpPort)})
	p.Spec.Containers[0].ReadinessProbe = &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(tcpPort)}},
		PeriodSeconds: 1,
	}
	return p
}

// next is the traffic node after node (cyclic): the "other node" of its client.
func (tr *traffic) next(node string) string {
	i := slices.Index(tr.nodes, node)
	return tr.nodes[(i+1)%len(tr.nodes)]
}

// createNamespace creates the gate's namespace.
func (tr *traffic) createNamespace(ctx context.Context) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: tr.namespace, Labels: map[string]string{"app": appLabel}}}
	if _, err := tr.cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create namespace %s: %w", tr.namespace, err)
	}
	return nil
}

// start creates the servers, their Services and then the clients, and
// waits until every client has written its first batch.
func (tr *traffic) start(ctx context.Context, timeout time.Duration) error {
	var servers []*corev1.Pod
	for _, n := range tr.nodes {
		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: svcName(n), Namespace: tr.namespace, Labels: map[string]string{"app": appLabel}},
			Spec: corev1.ServiceSpec{
				Selector: map[string]string{podLabel: srvName(n)},
				Ports: []corev1.ServicePort{
					{Name: "tcp", Protocol: corev1.ProtocolTCP, Port: tcpPort, TargetPort: intstr.FromInt32(tcpPort)},
					{Name: "udp", Protocol: corev1.ProtocolUDP, Port: udpPort, TargetPort: intstr.FromInt32(udpPort)},
				},
			},
		}
		got, err := tr.cs.CoreV1().Services(tr.namespace).Create(ctx, svc, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("create service %s: %w", svc.Name, err)
		}
		tr.svcIPs[svc.Name] = got.Spec.ClusterIP
		servers = append(servers, tr.serverPod(srvName(n), n))
	}
	ready, err := createAndWait(ctx, tr.cs, servers, timeout)
	if err != nil {
		return err
	}
	for _, p := range ready {
		tr.podIPs[p.Name] = p.Status.PodIP
	}
	var clients []*corev1.Pod
	for _, n := range tr.nodes {
		other := tr.next(n)
		args := []string{"stream-client", "-name", n,
			"-target", "same:" + n + "=" + tr.podIPs[srvName(n)],
			"-target", "clusterip:" + other + "=" + tr.svcIPs[svcName(other)],
			"-tcp-port", strconv.Itoa(tcpPort), "-udp-port", strconv.Itoa(udpPort),
			"-interval", tr.interval.String(), "-connect-interval", tr.connect.String()}
		if other != n {
			args = append(args, "-target", "other:"+other+"="+tr.podIPs[srvName(other)])
		}
		clients = append(clients, tr.pod(cliName(n), n, "client", args))
	}
	if _, err := createAndWait(ctx, tr.cs, clients, timeout); err != nil {
		return err
	}
	// Every flow answers once before anything changes: a flow that never
	// worked is a broken cluster, not a rollout's fault.
	return wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		if err := tr.read(ctx); err != nil {
			return false, nil
		}
		stats := flow.Summarize(tr.all(), time.Time{}, time.Now())
		want := len(tr.nodes) * 3 * 3
		if len(tr.nodes) == 1 {
			want = 2 * 3
		}
		ok := 0
		for _, s := range stats {
			if s.OK > 0 {
				ok++
			}
		}
		return ok == want, nil
	})
}

// read fetches every client's log (the whole log: events since the start).
func (tr *traffic) read(ctx context.Context) error {
	var errs []error
	for _, n := range tr.nodes {
		name := cliName(n)
		rc, err := tr.cs.CoreV1().Pods(tr.namespace).GetLogs(name, &corev1.PodLogOptions{Container: container}).Stream(ctx)
		if err != nil {
			errs = append(errs, fmt.Errorf("logs of %s: %w", name, err))
			continue
		}
		events, _, err := flow.Parse(rc)
		_ = rc.Close()
		if err != nil {
			errs = append(errs, fmt.Errorf("logs of %s: %w", name, err))
			continue
		}
		tr.mu.Lock()
		tr.events[name] = merge(tr.events[name], events)
		tr.mu.Unlock()
	}
	return errors.Join(errs...)
}

func (tr *traffic) all() []flow.Event {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var out []flow.Event
	for _, ev := range tr.events {
		out = append(out, ev...)
	}
	return out
}

// createAndWait creates pods and waits until each is Ready (or, for a pod
// that runs to completion, done); it returns them as last seen.
func createAndWait(ctx context.Context, cs kubernetes.Interface, pods []*corev1.Pod, timeout time.Duration) ([]*corev1.Pod, error) {
	for _, p := range pods {
		if _, err := cs.CoreV1().Pods(p.Namespace).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			return nil, fmt.Errorf("create pod %s on %s: %w", p.Name, p.Spec.NodeName, err)
		}
	}
	return waitPods(ctx, cs, pods, timeout, podReady)
}

// waitPods waits until done holds for each pod; a pod that ends (phase
// Failed, or Succeeded when Ready is awaited) cannot get there and fails at once.
func waitPods(ctx context.Context, cs kubernetes.Interface, pods []*corev1.Pod, timeout time.Duration, done func(*corev1.Pod) bool) ([]*corev1.Pod, error) {
	got := make([]*corev1.Pod, len(pods))
	var pending *corev1.Pod
	var last string
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		for i, p := range pods {
			cur, err := cs.CoreV1().Pods(p.Namespace).Get(ctx, p.Name, metav1.GetOptions{})
			if err != nil {
				pending, last = p, err.Error()
				return false, nil
			}
			got[i] = cur
			if done(cur) {
				continue
			}
			if cur.Status.Phase == corev1.PodFailed || cur.Status.Phase == corev1.PodSucceeded {
				return false, fmt.Errorf("pod %s on %s ended: %s", p.Name, p.Spec.NodeName, podState(cur))
			}
			pending, last = cur, podState(cur)
			return false, nil
		}
		return true, nil
	})
	if err != nil && ctx.Err() != nil {
		return got, fmt.Errorf("interrupted while waiting for pods: %w", context.Cause(ctx))
	}
	if err != nil && pending != nil && !strings.HasPrefix(err.Error(), "pod ") {
		return got, fmt.Errorf("pod %s on %s not ready within %v: %s%s", pending.Name, pending.Spec.NodeName, timeout, last, sandboxHint(ctx, cs, pending))
	}
	return got, err
}

// sandboxHint: the pod's latest event, which names a CNI failure
// (FailedCreatePodSandBox ...) better than its status does.
func sandboxHint(ctx context.Context, cs kubernetes.Interface, p *corev1.Pod) string {
	list, err := cs.CoreV1().Events(p.Namespace).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + p.Name})
	if err != nil || len(list.Items) == 0 {
		return ""
	}
	sort.Slice(list.Items, func(i, j int) bool { return eventTime(&list.Items[i]).Before(eventTime(&list.Items[j])) })
	e := list.Items[len(list.Items)-1]
	return fmt.Sprintf("; last event %s: %s", e.Reason, strings.TrimSpace(e.Message))
}

func eventTime(e *corev1.Event) time.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	}
	return e.FirstTimestamp.Time
}

// podLog returns a pod's log.
func podLog(ctx context.Context, cs kubernetes.Interface, ns, name string) (string, error) {
	rc, err := cs.CoreV1().Pods(ns).GetLogs(name, &corev1.PodLogOptions{Container: container}).Stream(ctx)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	var b bytes.Buffer
	_, err = io.Copy(&b, io.LimitReader(rc, 1<<20))
	return b.String(), err
}

// snapshot: every pod-network pod of the cluster by UID, with its IPs and
// restarts, to compare after each node.
type podSnap struct {
	name     string // namespace/name
	node     string
	ips      string
	restarts int32
}

func snapshot(ctx context.Context, cs kubernetes.Interface) (map[types.UID]podSnap, error) {
	list, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	out := map[types.UID]podSnap{}
	for _, p := range list.Items {
		if p.Spec.HostNetwork || p.Status.PodIP == "" || p.DeletionTimestamp != nil {
			continue
		}
		var ips []string
		for _, ip := range p.Status.PodIPs {
			ips = append(ips, ip.IP)
		}
		var restarts int32
		for _, c := range p.Status.ContainerStatuses {
			restarts += c.RestartCount
		}
		out[p.UID] = podSnap{name: p.Namespace + "/" + p.Name, node: p.Spec.NodeName, ips: strings.Join(ips, ","), restarts: restarts}
	}
	return out, nil
}

// compare lists the pods of before still there whose IPs changed, and
// their new restarts (pods that ended are not counted: a client that ended
// shows as silent flows).
func compare(before, now map[types.UID]podSnap) (ipChanges []string, restarts int, restarted []string) {
	for uid, b := range before {
		n, ok := now[uid]
		if !ok {
			continue
		}
		if n.ips != b.ips {
			ipChanges = append(ipChanges, fmt.Sprintf("%s on %s: %s → %s", b.name, b.node, b.ips, n.ips))
		}
		if d := int(n.restarts - b.restarts); d > 0 {
			restarts += d
			restarted = append(restarted, fmt.Sprintf("%s on %s: %d", b.name, b.node, d))
		}
	}
	sort.Strings(ipChanges)
	sort.Strings(restarted)
	return ipChanges, restarts, restarted
}

// sandboxEvents lists FailedCreatePodSandBox/FailedKillPodSandbox events
// since from, cluster-wide, in words.
func sandboxEvents(ctx context.Context, cs kubernetes.Interface, from time.Time) ([]string, error) {
	var out []string
	for _, reason := range []string{"FailedCreatePodSandBox", "FailedKillPodSandbox"} {
		list, err := cs.CoreV1().Events("").List(ctx, metav1.ListOptions{FieldSelector: "reason=" + reason})
		if err != nil {
			return nil, fmt.Errorf("list %s events: %w", reason, err)
		}
		for _, e := range list.Items {
			if eventTime(&e).Before(from.Add(-time.Second)) { // event times have a second's resolution
				continue
			}
			msg := strings.TrimSpace(e.Message)
			if len(msg) > 240 {
				msg = msg[:240] + "..."
			}
			out = append(out, fmt.Sprintf("%s %s/%s on %s (x%d): %s", reason, e.InvolvedObject.Namespace, e.InvolvedObject.Name, e.Source.Host, max(e.Count, 1), msg))
		}
	}
	sort.Strings(out)
	return out, nil
}

// hostPort joins an IP and a port (IPv6 in brackets).
func hostPort(ip string, port int) string { return net.JoinHostPort(ip, strconv.Itoa(port)) }

// check is one named check's result.
func check(name string, start time.Time, err error) results.RolloutCheck {
	c := results.RolloutCheck{Name: name, Passed: err == nil, Ms: ms(time.Since(start))}
	if err != nil {
		c.Detail = err.Error()
	}
	return c
}

// merge keeps the events read before that the new read no longer has (the
// kubelet rotated the log: a read returns only its current file) and
// appends the new read.
func merge(old, read []flow.Event) []flow.Event {
	if len(read) == 0 {
		return old
	}
	first := read[0].T
	i := 0
	for i < len(old) && old[i].T.Before(first) {
		i++
	}
	return append(old[:i:i], read...)
}
