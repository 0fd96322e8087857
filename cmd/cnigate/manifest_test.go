package main

import (
	"strings"
	"testing"
)

// manifest --gate-job: the Job's flags reach the rendered Job; the podnet
// manifest's flags and bad values are refused with exit 2, naming them.
func TestManifestGateJob(t *testing.T) {
	for _, tc := range []struct {
		name       string
		args       []string
		code       int
		wantStdout []string
		wantStderr string
	}{
		{"job", []string{"--image", "c:1", "--test-image", "t:1", "--test-image-pull-policy", "Never", "--gate-arg=--test=!Healing", "--gate-arg=--output=json"}, 0,
			[]string{"kind: Job", "image: c:1", `"--image=t:1","--image-pull-policy=Never"`, `"--test=!Healing","--output=json"]`, "kind: ClusterRole"}, ""},
		{"default test image", []string{"--image", "c:1"}, 0, []string{`"--image=cnigate/e2e-busybox:1.35"`}, ""},
		{"no image", nil, 2, nil, "image: empty"},
		{"with a podnet flag", []string{"--image", "c:1", "--network", "10.244.0.0/16"}, 2, nil, "--gate-job takes"},
		{"with --uninstall", []string{"--image", "c:1", "--uninstall"}, 2, nil, "--gate-job takes"},
		{"the Job's own flag", []string{"--image", "c:1", "--gate-arg=--kubeconfig=/k"}, 2, nil, "the Job's own"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(append([]string{"manifest", "--gate-job"}, tc.args...)...)
			if code != tc.code || !strings.Contains(stderr, tc.wantStderr) {
				t.Fatalf("exit %d (want %d), stderr %q (want %q)", code, tc.code, stderr, tc.wantStderr)
			}
			for _, w := range tc.wantStdout {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q", w)
				}
			}
		})
	}
}
