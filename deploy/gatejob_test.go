package deploy

import (
	"slices"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
)

func TestRenderGateJobGolden(t *testing.T) {
	raw, err := RenderGateJob(GateJob{Image: "registry.example/cnigate:v1", TestImage: "registry.example/e2e-busybox:1.35",
		TestImagePullPolicy: "Always", Args: []string{"--test=!Healing", "--output", "json"}})
	if err != nil {
		t.Fatal(err)
	}
	compareGolden(t, "gate-job.yaml", raw)
}

// The objects: one of each, the Job runs cnigate e2e in existing-cluster
// mode as the ServiceAccount the ClusterRole is bound to, and the role only
// reads outside what the run creates.
func TestRenderGateJobObjects(t *testing.T) {
	raw, err := RenderGateJob(GateJob{Image: "c:1", ImagePullPolicy: "Never", TestImage: "t:1"})
	if err != nil {
		t.Fatal(err)
	}
	objs := byKind(t, raw)
	wantOne(t, objs, "Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Job")
	job := only[*batchv1.Job](t, objs, "Job")
	role := only[*rbacv1.ClusterRole](t, objs, "ClusterRole")
	binding := only[*rbacv1.ClusterRoleBinding](t, objs, "ClusterRoleBinding")
	spec := job.Spec.Template.Spec
	c := spec.Containers[0]
	if c.Image != "c:1" || c.ImagePullPolicy != corev1.PullNever {
		t.Errorf("container image %s %s", c.Image, c.ImagePullPolicy)
	}
	wantArgs := []string{"e2e", "--existing-cluster", "--image=t:1", "--report-dir=" + GateReportDir, "--report-name=e2e-gate"}
	if !slices.Equal(c.Args, wantArgs) {
		t.Errorf("args %q, want %q", c.Args, wantArgs)
	}
	if spec.ServiceAccountName != GateJobName || binding.Subjects[0].Name != GateJobName || binding.Subjects[0].Namespace != GateNamespace || binding.RoleRef.Name != role.Name {
		t.Errorf("the Job's ServiceAccount %s is not the one bound to the role (%+v)", spec.ServiceAccountName, binding.Subjects)
	}
	if *job.Spec.BackoffLimit != 0 || spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("a failed gate run is retried: backoffLimit %d, restartPolicy %s", *job.Spec.BackoffLimit, spec.RestartPolicy)
	}
	writes := map[string]bool{"namespaces": true, "pods": true, "pods/exec": true, "services": true, "endpointslices": true}
	for _, r := range role.Rules {
		for _, res := range r.Resources {
			for _, v := range r.Verbs {
				if v == "*" || res == "*" || (!writes[res] && !slices.Contains([]string{"get", "list"}, v)) {
					t.Errorf("the role may %s %s: more than the run does", v, res)
				}
			}
		}
	}
}

func TestGateJobValidate(t *testing.T) {
	ok := GateJob{Image: "c:1", TestImage: "t:1"}
	for _, tc := range []struct {
		name string
		edit func(*GateJob)
		want string // "" valid, else part of the error
	}{
		{"valid", func(*GateJob) {}, ""},
		{"flags with values", func(g *GateJob) { g.Args = []string{"--test", "^Contract/", "--output=json", "--workers=0"} }, ""},
		{"no image", func(g *GateJob) { g.Image = "" }, "image: empty"},
		{"no test image", func(g *GateJob) { g.TestImage = "" }, "test image: empty"},
		{"bad policy", func(g *GateJob) { g.ImagePullPolicy = "Sometimes" }, "image pull policy"},
		{"bad test policy", func(g *GateJob) { g.TestImagePullPolicy = "never" }, "test image pull policy"},
		{"empty arg", func(g *GateJob) { g.Args = []string{""} }, "not a command-line argument"},
		{"own flag", func(g *GateJob) { g.Args = []string{"--report-dir=/x"} }, "the Job's own"},
		{"own flag, one dash", func(g *GateJob) { g.Args = []string{"-kubeconfig", "/k"} }, "the Job's own"},
		{"test image as an arg", func(g *GateJob) { g.Args = []string{"--image=x"} }, "the Job's own"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := ok
			tc.edit(&g)
			err := g.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
