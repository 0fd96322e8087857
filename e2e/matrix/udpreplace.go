package matrix

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/remotecommand"
	"sigs.k8s.io/e2e-framework/klient/k8s/resources"

	"github.com/cnigate/cnigate/e2e/harness/probe"
)

// UDP to a Service whose backend pod is replaced (upstream
// test/e2e/network/conntrack.go, "should be able to preserve UDP traffic
// when server pod cycles for a ClusterIP service"): a client keeps one
// source port and keeps sending to the ClusterIP; the old backend answers;
// the new one joins the Service and the old one is deleted; the same client
// must reach the new one. The classic failure is a conntrack entry that still
// DNATs the client's flow to the deleted pod: refreshed by every datagram,
// it never expires, and the client is blackholed for good.
const (
	udpReplacedSport   = 31900 // the client's source port, kept for the whole cell
	udpReplacedLabel   = "cnigate-e2e/udp-replaced"
	udpReplacedTimeout = 60 * time.Second // the client's own bound (the upstream test polls a minute)
)

func udpReplacedSvc(f ipFamily) string { return "udp-replaced-" + string(f) }
func udpOldPod(f ipFamily) string      { return "udp-old-" + string(f) }
func udpNewPod(f ipFamily) string      { return "udp-new-" + string(f) }

func rowUDPReplaced() row {
	return row{group: gContract, name: "UDP to a Service whose backend is replaced, same source port",
		what:  "a client that keeps its source port and keeps sending to a UDP ClusterIP reaches the new backend after the old one is deleted (no stale conntrack entry)",
		cells: udpReplacedCells}
}

// udpReplacedCells: one cell per pass, from the first worker's shell pod to
// backends on the last worker (another node).
func udpReplacedCells(s *suite, f ipFamily, _ map[string]*corev1.Pod) []cell {
	if len(s.workers) == 0 {
		return nil
	}
	client, server := s.workers[0], s.workers[len(s.workers)-1]
	from := shellPod(s.short[client.Name])
	return []cell{{from: from, to: fmt.Sprintf("svc/%s (backend on %s replaced)", udpReplacedSvc(f), s.short[server.Name]),
		proto: "udp-sport", once: true, check: udpReplacedCheck(f, from, server.Name)}}
}

// udpReplacedObjects are the cell's Service (ClusterIP, the pass's family
// only) and its two backends, udp-name servers on node: old selected by the
// Service from the start, new not yet (it joins by a label).
func udpReplacedObjects(s *suite, f ipFamily, node string) (*corev1.Service, *corev1.Pod, *corev1.Pod) {
	single := corev1.IPFamilyPolicySingleStack
	fam := corev1.IPv4Protocol
	if f.v6() {
		fam = corev1.IPv6Protocol
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: udpReplacedSvc(f), Namespace: s.namespace, Labels: map[string]string{"app": appLabel}},
		Spec: corev1.ServiceSpec{
			IPFamilyPolicy: &single, IPFamilies: []corev1.IPFamily{fam},
			Selector: map[string]string{udpReplacedLabel: string(f)},
			Ports:    []corev1.ServicePort{{Name: "udp", Protocol: corev1.ProtocolUDP, Port: probeUDPPort, TargetPort: intstr.FromInt32(probeUDPPort)}},
		},
	}
	cmd := []string{"probe", "udp-name", "-udp", fmt.Sprintf(":%d", probeUDPPort)}
	old := testPod(s, udpOldPod(f), node, "udp-backend", cmd)
	old.Labels[udpReplacedLabel] = string(f)
	return svc, old, testPod(s, udpNewPod(f), node, "udp-backend", cmd)
}

func udpReplacedCheck(f ipFamily, from, node string) check {
	return func(ctx context.Context) (time.Duration, string, error) {
		s := suiteFrom(ctx)
		svc, old, nw := udpReplacedObjects(s, f, node)
		if err := s.client.Resources().Create(ctx, svc); err != nil {
			return 0, "", fmt.Errorf("create service %s: %w", svc.Name, err)
		}
		if err := createPods(ctx, s, []*corev1.Pod{old, nw}); err != nil {
			return 0, "", err
		}
		sv, err := getService(ctx, s, svc.Name, s.namespace)
		if err != nil {
			return 0, "", err
		}
		ip := f.pickIP(append([]string{sv.Spec.ClusterIP}, sv.Spec.ClusterIPs...)...)
		if ip == "" {
			return 0, "", fmt.Errorf("service %s has no %s ClusterIP (%v)", svc.Name, f, sv.Spec.ClusterIPs)
		}
		addr := hostPort(ip, probeUDPPort)
		cctx, cancel := context.WithTimeout(ctx, udpReplacedTimeout+30*time.Second)
		defer cancel()
		lines := make(chan string, 16)
		done := make(chan error, 1)
		var out lineWriter
		out.line = func(l string) {
			select {
			case lines <- l:
			case <-cctx.Done(): // the cell is over: nobody reads any more
			}
		}
		go func() {
			done <- execStream(cctx, s, from, &out, probe.Command("udp-sticky", addr, "-sport", fmt.Sprint(udpReplacedSport),
				"-until", nw.Name, "-timeout", udpReplacedTimeout.String())...)
		}()
		// 1. the old backend answers the client (kube-proxy programmed the Service)
		if err := waitAnswer(cctx, lines, done, old.Name); err != nil {
			return 0, "", fmt.Errorf("before the replacement: %w", err)
		}
		// 2. the new backend joins, the old one is deleted
		var p corev1.Pod
		if err := s.client.Resources().Get(ctx, nw.Name, s.namespace, &p); err != nil {
			return 0, "", err
		}
		p.Labels[udpReplacedLabel] = string(f)
		if err := s.client.Resources().Update(ctx, &p); err != nil {
			return 0, "", fmt.Errorf("label %s into the Service: %w", nw.Name, err)
		}
		deleted := time.Now()
		if err := s.client.Resources().Delete(ctx, old, resources.WithGracePeriod(time.Second)); err != nil {
			return 0, "", fmt.Errorf("delete %s: %w", old.Name, err)
		}
		// 3. the same client, same source port, reaches the new one
		var last string
		for {
			select {
			case l := <-lines:
				last = l
				continue
			case err := <-done:
				for len(lines) > 0 {
					last = <-lines
				}
				f, perr := probe.ParseProbe(last + "\n" + out.String())
				if perr != nil {
					return 0, "", fmt.Errorf("after %s was deleted (%s ago) and %s joined, the client (source port %d) %w", old.Name,
						time.Since(deleted).Round(time.Millisecond), nw.Name, udpReplacedSport, errors.Join(perr, err))
				}
				took := time.Since(deleted)
				return took, fmt.Sprintf("%s answered %s after %s was deleted (source port %s, %s datagrams sent, %s answered)",
					f["until"], took.Round(time.Millisecond), old.Name, f["sport"], f["sent"], f["answered"]), nil
			}
		}
	}
}

// waitAnswer waits until the udp-sticky client reports an answer from name.
func waitAnswer(ctx context.Context, lines <-chan string, done <-chan error, name string) error {
	for {
		select {
		case l := <-lines:
			got, ok := answerFrom(l)
			switch {
			case !ok:
			case got == name:
				return nil
			default:
				return fmt.Errorf("%s answered first, want %s", got, name)
			}
		case err := <-done:
			if err == nil {
				err = errors.New("it exited 0")
			}
			said := ""
			for len(lines) > 0 { // its last words ("fail ...") came before it ended
				said = "; it said: " + <-lines
			}
			return fmt.Errorf("the client ended before %s answered: %w%s", name, err, said)
		case <-ctx.Done():
			return fmt.Errorf("no answer from %s: %w", name, ctx.Err())
		}
	}
}

// answerFrom parses a udp-sticky event line "answer <name> at_ms=<n>".
func answerFrom(line string) (string, bool) {
	f := strings.Fields(line)
	if len(f) < 2 || f[0] != "answer" {
		return "", false
	}
	return f[1], true
}

// lineWriter hands each complete line written to it to line and keeps the
// last (possibly partial) text for String.
type lineWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	last string
	line func(string)
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for {
		l, err := w.buf.ReadString('\n')
		if err != nil { // no newline yet: keep the partial line
			w.buf.Reset()
			w.buf.WriteString(l)
			return len(p), nil
		}
		w.last = strings.TrimSpace(l)
		w.line(w.last)
	}
}

// String is the partial line not yet handed on (the output's end when the
// process printed no final newline).
func (w *lineWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.TrimSpace(w.buf.String())
}

// execStream runs cmd in a test pod's main container, its stdout written to
// out as it comes (execIn buffers until the end); a non-zero exit is an error
// that carries stderr.
func execStream(ctx context.Context, s *suite, pod string, out *lineWriter, cmd ...string) error {
	cs, err := kubernetes.NewForConfig(s.client.RESTConfig())
	if err != nil {
		return err
	}
	req := cs.CoreV1().RESTClient().Post().Resource("pods").Name(pod).Namespace(s.namespace).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Container: containerName, Command: cmd, Stdout: true, Stderr: true}, scheme.ParameterCodec)
	ex, err := remotecommand.NewSPDYExecutor(s.client.RESTConfig(), "POST", req.URL())
	if err != nil {
		return err
	}
	var stderr bytes.Buffer
	if err := ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: out, Stderr: &stderr}); err != nil {
		return fmt.Errorf("exec in %s %q: %w: %s", pod, strings.Join(cmd, " "), err, strings.TrimSpace(stderr.String()))
	}
	return nil
}
