package matrix

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/e2e-framework/klient/k8s/resources"

	"github.com/cnigate/cnigate/deploy"
	"github.com/cnigate/cnigate/e2e/harness/probe"
)

// The Health group: after the matrix (Connectivity, Contract, IPAM) and
// before Healing (which restarts podnet's agent on purpose), the cluster must
// not have paid for the run: the node agents did not restart, and no pod
// sandbox of the test namespace failed to be created or torn down.

const gHealth = "Health"

// cniNamespaces hold the node agents whose DaemonSet pods must not restart:
// kube-system (kube-proxy, and cilium's or flannel's agents when they live
// there), podnet's, and the usual namespaces of calico and flannel.
var cniNamespaces = []string{metav1.NamespaceSystem, deploy.Namespace, "calico-system", "kube-flannel"}

// sandboxFailures are the kubelet's event reasons for a pod sandbox the
// runtime (and so the CNI's ADD or DEL) failed to set up or tear down.
var sandboxFailures = []string{"FailedCreatePodSandBox", "FailedKillPodSandbox"}

func rowAgentsNoRestart() row {
	return row{group: gHealth, name: "CNI and kube-proxy pods did not restart",
		what: "no DaemonSet pod of " + strings.Join(cniNamespaces, ", ") + " restarted, was replaced or is not Ready since the matrix began",
		cells: func(s *suite, _ ipFamily, _ map[string]*corev1.Pod) []cell {
			var cells []cell
			for _, n := range s.nodes {
				cells = append(cells, cell{from: "node-" + s.short[n.Name], to: "daemonset pods", proto: "restarts", once: true, check: restartCheck(n.Name)})
			}
			return cells
		}}
}

func rowNoSandboxFailures() row {
	return row{group: gHealth, name: "no pod sandbox failures in the test namespace",
		what: "no " + strings.Join(sandboxFailures, " or ") + " event in the test namespace",
		cells: func(s *suite, _ ipFamily, _ map[string]*corev1.Pod) []cell {
			return []cell{{from: "ns/" + s.namespace, to: "events", proto: "events", once: true, check: sandboxEventsCheck}}
		}}
}

// restartCheck lists node's DaemonSet pods of cniNamespaces and fails naming
// each that restarted (a container started or ended after since), was
// created after since (it replaced one) or is not Ready.
func restartCheck(node string) check {
	return func(ctx context.Context) (time.Duration, string, error) {
		s := suiteFrom(ctx)
		var pods []corev1.Pod
		for _, ns := range cniNamespaces {
			var list corev1.PodList
			if err := s.client.Resources(ns).List(ctx, &list, resources.WithFieldSelector("spec.nodeName="+node)); err != nil {
				return 0, "", fmt.Errorf("list pods of %s on %s: %w", ns, node, err)
			}
			for _, p := range list.Items {
				if ownedByDaemonSet(&p) {
					pods = append(pods, p)
				}
			}
		}
		problems := restartProblems(pods, s.testsStart)
		if len(problems) > 0 {
			return 0, "", fmt.Errorf("%s", strings.Join(problems, "; "))
		}
		names := make([]string, 0, len(pods))
		for _, p := range pods {
			names = append(names, p.Namespace+"/"+p.Name)
		}
		if len(names) == 0 {
			return 0, fmt.Sprintf("no DaemonSet pod of %s on this node", strings.Join(cniNamespaces, ", ")), nil
		}
		return 0, fmt.Sprintf("%s: no restart since %s", strings.Join(names, ", "), s.testsStart.UTC().Format(time.TimeOnly)), nil
	}
}

func ownedByDaemonSet(p *corev1.Pod) bool {
	return slices.ContainsFunc(p.OwnerReferences, func(o metav1.OwnerReference) bool { return o.Kind == "DaemonSet" })
}

// restartProblems names what happened to pods since: a pod created after it
// (it replaced one: deleted, evicted, its node restarted), a container that
// started or ended after it, a pod not Ready now. Each says how.
func restartProblems(pods []corev1.Pod, since time.Time) []string {
	var out []string
	for _, p := range pods {
		name := p.Namespace + "/" + p.Name
		if p.CreationTimestamp.After(since) {
			out = append(out, fmt.Sprintf("%s was created %s, after the matrix began (it replaced a pod of its DaemonSet)", name, p.CreationTimestamp.UTC().Format(time.TimeOnly)))
			continue
		}
		for _, cs := range append(slices.Clone(p.Status.InitContainerStatuses), p.Status.ContainerStatuses...) {
			if t := cs.LastTerminationState.Terminated; t != nil && t.FinishedAt.After(since) {
				out = append(out, fmt.Sprintf("%s container %s restarted during the run (%d restarts; it ended %s: %s, exit code %d)",
					name, cs.Name, cs.RestartCount, t.FinishedAt.UTC().Format(time.TimeOnly), t.Reason, t.ExitCode))
			} else if r := cs.State.Running; r != nil && r.StartedAt.After(since) && cs.RestartCount > 0 {
				out = append(out, fmt.Sprintf("%s container %s started again %s, during the run (%d restarts)", name, cs.Name, r.StartedAt.UTC().Format(time.TimeOnly), cs.RestartCount))
			} else if w := cs.State.Waiting; w != nil && cs.RestartCount > 0 {
				out = append(out, fmt.Sprintf("%s container %s waiting: %s (%d restarts)", name, cs.Name, w.Reason, cs.RestartCount))
			}
		}
		if p.DeletionTimestamp == nil && !probe.PodConditionTrue(&p, corev1.PodReady) {
			out = append(out, name+" is not Ready")
		}
	}
	return out
}

// sandboxEventsCheck fails naming every sandbox failure event of the test
// namespace: the pod, how often, when last, and the runtime's message.
func sandboxEventsCheck(ctx context.Context) (time.Duration, string, error) {
	s := suiteFrom(ctx)
	var list corev1.EventList
	if err := s.client.Resources(s.namespace).List(ctx, &list); err != nil {
		return 0, "", fmt.Errorf("list the events of %s: %w", s.namespace, err)
	}
	if bad := sandboxEvents(list.Items); len(bad) > 0 {
		return 0, "", fmt.Errorf("%d sandbox failure events: %s", len(bad), strings.Join(bad, "; "))
	}
	return 0, fmt.Sprintf("none among %d events", len(list.Items)), nil
}

// sandboxEvents describes the events whose reason is a sandbox failure.
func sandboxEvents(events []corev1.Event) []string {
	var out []string
	for _, e := range events {
		if !slices.Contains(sandboxFailures, e.Reason) {
			continue
		}
		count := max(e.Count, 1)
		if e.Series != nil {
			count = max(count, e.Series.Count)
		}
		host := e.Source.Host
		if host == "" {
			host = e.ReportingInstance
		}
		when := e.LastTimestamp.Time
		if when.IsZero() {
			when = e.EventTime.Time
		}
		out = append(out, fmt.Sprintf("%s %s/%s x%d (last %s on %s): %s", e.Reason, strings.ToLower(e.InvolvedObject.Kind), e.InvolvedObject.Name,
			count, when.UTC().Format(time.TimeOnly), host, strings.TrimSpace(e.Message)))
	}
	return out
}
