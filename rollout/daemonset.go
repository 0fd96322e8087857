package rollout

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

// The DaemonSet side of the gate: what it reads and the only three things
// it changes (update strategy, the container's image, a pod deleted).

const controlPlaneLabel = "node-role.kubernetes.io/control-plane"

// dsRef names the DaemonSet and its container.
type dsRef struct {
	cs                         kubernetes.Interface
	namespace, name, container string
}

func (d dsRef) String() string { return d.namespace + "/" + d.name }

func (d dsRef) get(ctx context.Context) (*appsv1.DaemonSet, error) {
	ds, err := d.cs.AppsV1().DaemonSets(d.namespace).Get(ctx, d.name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("daemonset %s: %w", d, err)
	}
	return ds, nil
}

// image is the container's image in the DaemonSet's pod template.
func (d dsRef) image(ds *appsv1.DaemonSet) (string, error) {
	var names []string
	for _, c := range ds.Spec.Template.Spec.Containers {
		if c.Name == d.container {
			return c.Image, nil
		}
		names = append(names, c.Name)
	}
	return "", fmt.Errorf("daemonset %s has no container %q (containers: %s)", d, d.container, strings.Join(names, ", "))
}

// podImage is the container's image in a pod's spec.
func (d dsRef) podImage(p *corev1.Pod) string {
	for _, c := range p.Spec.Containers {
		if c.Name == d.container {
			return c.Image
		}
	}
	return ""
}

// pods are the DaemonSet's pods by node (the newest when a node has two).
func (d dsRef) pods(ctx context.Context, ds *appsv1.DaemonSet) (map[string]*corev1.Pod, error) {
	sel, err := metav1.LabelSelectorAsSelector(ds.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("daemonset %s selector: %w", d, err)
	}
	list, err := d.cs.CoreV1().Pods(d.namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, err
	}
	byNode := map[string]*corev1.Pod{}
	for i := range list.Items {
		p := &list.Items[i]
		if !slices.ContainsFunc(p.OwnerReferences, func(o metav1.OwnerReference) bool { return o.UID == ds.UID }) {
			continue
		}
		if old, ok := byNode[p.Spec.NodeName]; ok && old.CreationTimestamp.After(p.CreationTimestamp.Time) {
			continue
		}
		byNode[p.Spec.NodeName] = p
	}
	return byNode, nil
}

// update applies f to the DaemonSet, retrying on conflicts.
func (d dsRef) update(ctx context.Context, f func(*appsv1.DaemonSet) error) error {
	return wait.PollUntilContextTimeout(ctx, time.Second, time.Minute, true, func(ctx context.Context) (bool, error) {
		ds, err := d.get(ctx)
		if err != nil {
			return false, err
		}
		if err := f(ds); err != nil {
			return false, err
		}
		_, err = d.cs.AppsV1().DaemonSets(d.namespace).Update(ctx, ds, metav1.UpdateOptions{})
		if err == nil {
			return true, nil
		}
		if isConflict(err) {
			return false, nil
		}
		return false, fmt.Errorf("update daemonset %s: %w", d, err)
	})
}

// setImage points the DaemonSet's container at image.
func (d dsRef) setImage(ctx context.Context, image string) error {
	return d.update(ctx, func(ds *appsv1.DaemonSet) error {
		for i := range ds.Spec.Template.Spec.Containers {
			if ds.Spec.Template.Spec.Containers[i].Name == d.container {
				ds.Spec.Template.Spec.Containers[i].Image = image
				return nil
			}
		}
		return fmt.Errorf("daemonset %s has no container %q", d, d.container)
	})
}

// setStrategy replaces the DaemonSet's update strategy.
func (d dsRef) setStrategy(ctx context.Context, s appsv1.DaemonSetUpdateStrategy) error {
	return d.update(ctx, func(ds *appsv1.DaemonSet) error {
		ds.Spec.UpdateStrategy = s
		return nil
	})
}

func strategyString(s appsv1.DaemonSetUpdateStrategy) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// preflight refuses a cluster that is not at rest: a node not Ready, a
// DaemonSet not fully rolled out, a pod not on the template's image, or a
// candidate that is the current image. It returns the nodes that run the
// DaemonSet and the current image.
func (d dsRef) preflight(ctx context.Context, candidate string) ([]Node, string, error) {
	nodes, err := d.cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, "", fmt.Errorf("list nodes: %w", err)
	}
	var notReady []string
	cp := map[string]bool{}
	for _, n := range nodes.Items {
		if !nodeReady(&n) {
			notReady = append(notReady, n.Name)
		}
		_, cp[n.Name] = n.Labels[controlPlaneLabel]
	}
	if len(notReady) > 0 {
		return nil, "", fmt.Errorf("refused: nodes not Ready: %s", strings.Join(notReady, ", "))
	}
	ds, err := d.get(ctx)
	if err != nil {
		return nil, "", err
	}
	image, err := d.image(ds)
	if err != nil {
		return nil, "", err
	}
	if image == candidate {
		return nil, "", fmt.Errorf("refused: --image %s is already the DaemonSet's image", candidate)
	}
	st := ds.Status
	if ds.Generation != st.ObservedGeneration || st.DesiredNumberScheduled == 0 ||
		st.UpdatedNumberScheduled != st.DesiredNumberScheduled || st.NumberReady != st.DesiredNumberScheduled ||
		st.NumberAvailable != st.DesiredNumberScheduled {
		return nil, "", fmt.Errorf("refused: daemonset %s is not fully rolled out: generation %d observed %d, desired %d, updated %d, ready %d, available %d",
			d, ds.Generation, st.ObservedGeneration, st.DesiredNumberScheduled, st.UpdatedNumberScheduled, st.NumberReady, st.NumberAvailable)
	}
	pods, err := d.pods(ctx, ds)
	if err != nil {
		return nil, "", err
	}
	var wrong []string
	var out []Node
	for node, p := range pods {
		if got := d.podImage(p); got != image || !podReady(p) {
			wrong = append(wrong, fmt.Sprintf("%s on %s (image %s, ready %v)", p.Name, node, got, podReady(p)))
		}
		out = append(out, Node{Name: node, ControlPlane: cp[node]})
	}
	if len(wrong) > 0 {
		sort.Strings(wrong)
		return nil, "", fmt.Errorf("refused: pods not Ready on the template's image %s: %s", image, strings.Join(wrong, "; "))
	}
	if int32(len(pods)) != st.DesiredNumberScheduled {
		return nil, "", fmt.Errorf("refused: daemonset %s wants %d pods, %d found", d, st.DesiredNumberScheduled, len(pods))
	}
	return out, image, nil
}

// waitPod waits for the DaemonSet's pod on node that is not old, Ready, on image.
func (d dsRef) waitPod(ctx context.Context, node string, old types.UID, image string, timeout time.Duration) (*corev1.Pod, error) {
	var last string
	var got *corev1.Pod
	err := wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		ds, err := d.get(ctx)
		if err != nil {
			last = err.Error()
			return false, nil
		}
		pods, err := d.pods(ctx, ds)
		if err != nil {
			last = err.Error()
			return false, nil
		}
		p, ok := pods[node]
		switch {
		case !ok:
			last = "no pod on the node"
		case p.UID == old:
			last = "the old pod " + p.Name + " is still there"
		case d.podImage(p) != image:
			last = fmt.Sprintf("pod %s runs %s", p.Name, d.podImage(p))
		case !podReady(p):
			last = fmt.Sprintf("pod %s not Ready: %s", p.Name, podState(p))
		default:
			got = p
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		return nil, fmt.Errorf("the %s pod on %s is not Ready on %s within %v: %s", d.name, node, image, timeout, last)
	}
	return got, nil
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// podState says why a pod is not Ready, briefly.
func podState(p *corev1.Pod) string {
	parts := []string{"phase " + string(p.Status.Phase)}
	for _, cs := range append(slices.Clone(p.Status.InitContainerStatuses), p.Status.ContainerStatuses...) {
		switch {
		case cs.State.Waiting != nil:
			parts = append(parts, fmt.Sprintf("%s waiting %s %s", cs.Name, cs.State.Waiting.Reason, cs.State.Waiting.Message))
		case cs.State.Terminated != nil:
			parts = append(parts, fmt.Sprintf("%s terminated %s (exit %d)", cs.Name, cs.State.Terminated.Reason, cs.State.Terminated.ExitCode))
		}
		if cs.RestartCount > 0 {
			parts = append(parts, fmt.Sprintf("%s restarted %d times", cs.Name, cs.RestartCount))
		}
	}
	return strings.Join(parts, ", ")
}
