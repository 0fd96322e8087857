package matrix

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"github.com/cnigate/cnigate/results"
)

// Pod network readiness (as kube-burner and ClusterLoader2 measure it): per
// matrix pod, the time from its creation to its first answer from a peer on
// another node. An init container (probe first-answer) dials the peer every
// 20 ms from the moment the pod's sandbox has its network and writes the
// wall-clock time of the first answer as its termination message; the
// harness stamps each pod with the time it sent the Create. Both clocks are
// this host's on kind; in gate mode the nodes' clocks are compared with the
// harness host's (NTP skew adds to the figure).

const (
	readinessInit = "first-answer"
	// createdAnnotation: when the harness sent the pod's Create (Unix ns).
	createdAnnotation = "cnigate-e2e/created-unix-ns"
	// kubeletPort: the peer is another node's kubelet, which answers from
	// before any test pod exists: the figure is this pod's network, not the
	// peer's start.
	kubeletPort = 10250
)

// readinessPeer is the node a pod on node reaches first: the next node of
// the cluster ("" when there is no other).
func readinessPeer(s *suite, node string) string {
	for i, n := range s.nodes {
		if n.Name == node {
			for j := 1; j < len(s.nodes); j++ {
				if ip := s.firstFamily().nodeIP(s.nodes[(i+j)%len(s.nodes)]); ip != "" {
					return hostPort(ip, kubeletPort)
				}
			}
		}
	}
	return ""
}

// withReadiness gives each pod the init container that measures it. A
// probe that fails (a test image without first-answer) leaves its exit
// status as the message and lets the pod start: a measurement never holds
// the pods back.
func withReadiness(s *suite, pods []*corev1.Pod) []*corev1.Pod {
	for _, p := range pods {
		peer := readinessPeer(s, p.Spec.NodeSelector[corev1.LabelHostname])
		if peer == "" {
			continue
		}
		p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{
			Name: readinessInit, Image: s.opt.Image, ImagePullPolicy: corev1.PullPolicy(s.opt.ImagePullPolicy),
			Command: []string{"sh", "-c", "probe first-answer " + peer + ` -timeout 30s || echo "probe first-answer: exit $?" >/dev/termination-log`},
		})
	}
	return pods
}

// stampCreated records on p when its Create is sent.
func stampCreated(p *corev1.Pod) {
	if p.Annotations == nil {
		p.Annotations = map[string]string{}
	}
	p.Annotations[createdAnnotation] = strconv.FormatInt(time.Now().UnixNano(), 10)
}

// collectReadiness reads each matrix pod's first answer once they are Ready.
func collectReadiness(ctx context.Context, _ *envconf.Config) (context.Context, error) {
	s := suiteFrom(ctx)
	listed, err := listTestPods(ctx, s)
	if err != nil {
		return ctx, fmt.Errorf("pod network readiness: %w", err)
	}
	var pods []*corev1.Pod
	for _, p := range matrixPods(s) {
		if got, ok := listed[p.Name]; ok {
			pods = append(pods, got)
		} else {
			pods = append(pods, p) // counted as missing
		}
	}
	s.readiness = readinessOf(pods)
	if r := s.readiness; r != nil {
		klog.Infof("pod network readiness (creation -> first answer from %s): p50 %.2f s, p99 %.2f s, max %.2f s over %d pods; missing %v",
			r.Peer, r.P50S, r.P99S, r.MaxS, r.Pods, r.Missing)
	}
	return ctx, nil
}

// readinessOf computes the readiness figures of pods from their annotation
// and their init container's termination message; a pod without both is
// listed as missing, saying why.
func readinessOf(pods []*corev1.Pod) *results.Readiness {
	r := &results.Readiness{Peer: fmt.Sprintf("another node's kubelet (TCP %d)", kubeletPort), Pods: len(pods)}
	var secs []float64
	for _, p := range pods {
		d, err := podReadiness(p)
		if err != nil {
			r.Missing = append(r.Missing, p.Name+": "+err.Error())
			continue
		}
		secs = append(secs, d.Seconds())
	}
	if len(secs) > 0 {
		r.P50S, _ = results.Percentile(secs, 50)
		r.P99S, _ = results.Percentile(secs, 99)
		r.MaxS, _ = results.Percentile(secs, 100)
	}
	return r
}

func podReadiness(p *corev1.Pod) (time.Duration, error) {
	created, err := strconv.ParseInt(p.Annotations[createdAnnotation], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("no creation stamp")
	}
	for _, st := range p.Status.InitContainerStatuses {
		if st.Name != readinessInit {
			continue
		}
		if st.State.Terminated == nil {
			return 0, fmt.Errorf("%s not terminated", readinessInit)
		}
		msg := strings.TrimSpace(st.State.Terminated.Message)
		v, ok := strings.CutPrefix(msg, "answered_unix_ns=")
		if !ok {
			return 0, fmt.Errorf("%s", msg)
		}
		ns, err := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %q: %w", readinessInit, msg, err)
		}
		d := time.Duration(ns - created)
		if d < 0 {
			return 0, fmt.Errorf("answered %s before its creation: the node's clock is behind this host's", -d)
		}
		return d, nil
	}
	return 0, fmt.Errorf("no %s init container", readinessInit)
}
