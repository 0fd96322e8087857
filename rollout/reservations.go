package rollout

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cnigate/cnigate/e2e/harness/probe"
	"github.com/cnigate/cnigate/results"
)

// reservationsCheck (--reservations-dir): the IPAM store of node, one file
// per reserved IP (podnet's, host-local's), read by a hostNetwork pod,
// holds exactly the IPs of the node's pod-network pods: no address leaked
// by the switch, none lost. Retried for a while: a pod being created or
// deleted is in one list before the other.
func (g *gate) reservationsCheck(ctx context.Context, node string) results.RolloutCheck {
	name := "reservations on " + node + " equal its pods"
	start := time.Now()
	var last error
	for try := 0; try < 5; try++ {
		if try > 0 {
			select {
			case <-ctx.Done():
				return check(name, start, ctx.Err())
			case <-time.After(3 * time.Second):
			}
		}
		if last = g.reservationsMatch(ctx, node); last == nil {
			break
		}
	}
	return check(name, start, last)
}

func (g *gate) reservationsMatch(ctx context.Context, node string) error {
	g.seq++
	const mount = "/store"
	p := g.tr.pod(fmt.Sprintf("store-%s-%d", node, g.seq), node, "check", nil)
	p.Spec.HostNetwork = true
	p.Spec.Containers[0].Command = probe.ListReservationsCommand(mount)
	p.Spec.Volumes = []corev1.Volume{{Name: "store", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: g.cfg.ReservationsDir}}}}
	p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "store", MountPath: mount, ReadOnly: true}}
	pods := g.cs.CoreV1().Pods(p.Namespace)
	if _, err := pods.Create(ctx, p, metav1.CreateOptions{}); err != nil {
		return err
	}
	defer func() { _ = pods.Delete(context.WithoutCancel(ctx), p.Name, metav1.DeleteOptions{}) }()
	done := func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded }
	if _, err := waitPods(ctx, g.cs, []*corev1.Pod{p}, g.cfg.Thresholds.PodTimeout, done); err != nil {
		return err
	}
	out, err := podLog(ctx, g.cs, p.Namespace, p.Name)
	if err != nil {
		return err
	}
	res, err := probe.ParseReservations(out)
	if err != nil {
		return err
	}
	list, err := g.cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + node})
	if err != nil {
		return err
	}
	have := map[string]string{}
	for _, p := range list.Items {
		if p.Spec.HostNetwork || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		for _, ip := range p.Status.PodIPs {
			have[ip.IP] = p.Namespace + "/" + p.Name
		}
	}
	var leaked, missing []string
	reserved := map[string]bool{}
	for _, r := range res {
		reserved[r.IP] = true
		if _, ok := have[r.IP]; !ok {
			leaked = append(leaked, r.IP)
		}
	}
	for ip, pod := range have {
		if !reserved[ip] {
			missing = append(missing, ip+" ("+pod+")")
		}
	}
	slices.Sort(leaked)
	slices.Sort(missing)
	if len(leaked)+len(missing) > 0 {
		return fmt.Errorf("%d reservations, %d pod IPs: reserved without a pod: [%s]; pods without a reservation: [%s]",
			len(res), len(have), strings.Join(leaked, " "), strings.Join(missing, " "))
	}
	return nil
}
