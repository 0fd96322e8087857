package rollout

import (
	"context"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
)

func node(name string, ready, cp bool) *corev1.Node {
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{}},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: st}}}}
	if cp {
		n.Labels[controlPlaneLabel] = ""
	}
	return n
}

func agentPod(nodeName, image string, ready bool) *corev1.Pod {
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "agent-" + nodeName, Namespace: "sys", UID: types.UID("uid-" + nodeName),
			Labels: map[string]string{"app": "agent"}, OwnerReferences: []metav1.OwnerReference{{UID: "ds-uid", Name: "agent", Kind: "DaemonSet"}}},
		Spec:   corev1.PodSpec{NodeName: nodeName, Containers: []corev1.Container{{Name: "agent", Image: image}}},
		Status: corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}},
	}
}

func daemonSet(image string, desired, ready int32) *appsv1.DaemonSet {
	return &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: "sys", UID: "ds-uid", Generation: 2},
		Spec: appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "agent"}},
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "agent", Image: image}}}}},
		Status: appsv1.DaemonSetStatus{ObservedGeneration: 2, DesiredNumberScheduled: desired, UpdatedNumberScheduled: desired,
			NumberReady: ready, NumberAvailable: ready},
	}
}

func TestPreflight(t *testing.T) {
	healthy := func() []runtime.Object {
		return []runtime.Object{node("cp", true, true), node("w1", true, false), node("w2", true, false), daemonSet("a:1", 3, 3),
			agentPod("cp", "a:1", true), agentPod("w1", "a:1", true), agentPod("w2", "a:1", true)}
	}
	for _, c := range []struct {
		name      string
		objs      []runtime.Object
		container string
		candidate string
		want      string // error substring, "" for a pass
	}{
		{"at rest", healthy(), "agent", "a:2", ""},
		{"a node not Ready", append(healthy()[1:], node("cp", false, true)), "agent", "a:2", "refused: nodes not Ready: cp"},
		{"candidate is current", healthy(), "agent", "a:1", "already the DaemonSet's image"},
		{"no such container", healthy(), "sidecar", "a:2", `has no container "sidecar" (containers: agent)`},
		{"not rolled out", append(healthy()[:3:3], daemonSet("a:1", 3, 2), agentPod("cp", "a:1", true), agentPod("w1", "a:1", true), agentPod("w2", "a:1", false)),
			"agent", "a:2", "not fully rolled out"},
		{"a pod on another image", append(healthy()[:6:6], agentPod("w2", "a:0", true)), "agent", "a:2", "pods not Ready on the template's image a:1: agent-w2 on w2 (image a:0"},
		{"a pod missing", healthy()[:6], "agent", "a:2", "wants 3 pods, 2 found"},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := dsRef{cs: fake.NewClientset(c.objs...), namespace: "sys", name: "agent", container: c.container}
			nodes, image, err := d.preflight(context.Background(), c.candidate)
			if c.want != "" {
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("preflight = %v, want %q", err, c.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			order, _ := Order(nodes, "")
			if image != "a:1" || strings.Join(order, " ") != "w1 w2 cp" {
				t.Errorf("preflight: image %s, order %v", image, order)
			}
		})
	}
}
