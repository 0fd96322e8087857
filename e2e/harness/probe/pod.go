package probe

import corev1 "k8s.io/api/core/v1"

// PodConditionTrue is whether the pod has condition t with status True.
func PodConditionTrue(p *corev1.Pod, t corev1.PodConditionType) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == t {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
