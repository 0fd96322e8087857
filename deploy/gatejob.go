package deploy

import (
	"bytes"
	"flag"
	"fmt"
	"strings"
)

// Names of the gate Job's objects (RenderGateJob).
const (
	GateNamespace = "cnigate-system"
	GateJobName   = "cnigate-e2e"
	// GateReportDir is where the Job's `cnigate e2e` writes matrix.json and
	// its reports (an emptyDir: the log carries the matrix and the coverage).
	GateReportDir    = "/reports"
	DefaultTestImage = "cnigate/e2e-busybox:1.35"
)

// GateJob are the settings of the Job that runs the gate, `cnigate e2e
// --existing-cluster`, inside the cluster with its own ServiceAccount (the
// in-cluster config): the cnigate image (make cnigate-image), the test image
// its pods run, and extra arguments for `cnigate e2e`.
type GateJob struct {
	Image           string // the cnigate image (required)
	ImagePullPolicy string // of the Job's pod; IfNotPresent when empty
	TestImage       string // the test pods' image (cnigate e2e --image)
	// TestImagePullPolicy is cnigate e2e --image-pull-policy (empty: its
	// default on an existing cluster, IfNotPresent).
	TestImagePullPolicy string
	Args                []string // more cnigate e2e flags, e.g. --test '!Healing', --output json
}

// Register defines the gate Job's own flags on fs (the image and its pull
// policy are the manifest's --image and --image-pull-policy).
func (g *GateJob) Register(fs *flag.FlagSet) {
	fs.StringVar(&g.TestImage, "test-image", DefaultTestImage, "with --gate-job: the test pods' image (cnigate e2e --image; make e2e-image-save writes it for a registry)")
	fs.StringVar(&g.TestImagePullPolicy, "test-image-pull-policy", "", "with --gate-job: the test pods' imagePullPolicy (empty: IfNotPresent)")
	fs.Func("gate-arg", "with --gate-job: one more `ARG` of the Job's cnigate e2e (repeatable), e.g. --gate-arg=--test=!Healing --gate-arg=--output=json", func(v string) error {
		g.Args = append(g.Args, v)
		return nil
	})
}

// Validate checks what the Job needs; cnigate e2e checks its own flags when
// the Job runs (and `cnigate e2e ... --list` checks them here).
func (g GateJob) Validate() error {
	if g.Image == "" {
		return fmt.Errorf("image: empty (the cnigate image reference, e.g. from make cnigate-image)")
	}
	if g.TestImage == "" {
		return fmt.Errorf("test image: empty (the e2e test image, e.g. %s)", DefaultTestImage)
	}
	for _, p := range []struct{ name, v string }{{"image pull policy", g.ImagePullPolicy}, {"test image pull policy", g.TestImagePullPolicy}} {
		switch p.v {
		case "", "Always", "IfNotPresent", "Never":
		default:
			return fmt.Errorf("%s: %q is not Always, IfNotPresent or Never", p.name, p.v)
		}
	}
	for _, a := range g.Args {
		if a == "" || strings.ContainsAny(a, "\n") {
			return fmt.Errorf("gate args: %q is not a command-line argument", a)
		}
		if !strings.HasPrefix(a, "-") {
			continue // a flag's value given as its own argument
		}
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		switch name {
		case "existing-cluster", "kubeconfig", "context", "report-dir", "image", "image-pull-policy":
			return fmt.Errorf("gate args: %s is the Job's own (the manifest sets it)", a)
		}
	}
	return nil
}

// e2eArgs is the Job's command line after the entrypoint (cnigate).
func (g GateJob) e2eArgs() []string {
	args := []string{"e2e", "--existing-cluster", "--image=" + g.TestImage}
	if g.TestImagePullPolicy != "" {
		args = append(args, "--image-pull-policy="+g.TestImagePullPolicy)
	}
	args = append(args, "--report-dir="+GateReportDir, "--report-name=e2e-gate")
	return append(args, g.Args...)
}

// RenderGateJob returns the manifest of the gate Job: its Namespace,
// ServiceAccount, ClusterRole (only what cnigate e2e --existing-cluster
// does), ClusterRoleBinding and the Job.
func RenderGateJob(g GateJob) ([]byte, error) {
	if err := g.Validate(); err != nil {
		return nil, err
	}
	policy := g.ImagePullPolicy
	if policy == "" {
		policy = "IfNotPresent"
	}
	var buf bytes.Buffer
	err := tmpl.ExecuteTemplate(&buf, "gate-job.yaml.tmpl", map[string]any{
		"Namespace": GateNamespace, "Name": GateJobName, "Image": g.Image, "ImagePullPolicy": policy,
		"Args": g.e2eArgs(), "ReportDir": GateReportDir,
	})
	return buf.Bytes(), err
}
