package main

import (
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/cnigate/cnigate"
)

func TestE2EOptions(t *testing.T) {
	for _, tc := range []struct {
		name       string
		args       []string
		wantErr    string
		usage      bool
		nodeImage  string
		reportName string
		testArgs   []string
	}{
		{name: "defaults: the published node image", args: []string{"--agent-image", "cnigate/podnet-agent:t"}, nodeImage: cnigate.PublishedNodeImage(), reportName: "e2e-podnet",
			testArgs: []string{"-test.parallel=4", "-test.timeout=40m"}},
		{name: "8 workers: 16 cells at a time", args: []string{"--agent-image", "cnigate/podnet-agent:t", "--workers", "8"}, nodeImage: cnigate.PublishedNodeImage(), reportName: "e2e-podnet",
			testArgs: []string{"-test.parallel=16", "-test.timeout=40m"}},
		{name: "parallel and timeout given", args: []string{"--agent-image", "cnigate/podnet-agent:t", "--workers", "8", "--parallel", "6", "--timeout", "1h"}, nodeImage: cnigate.PublishedNodeImage(), reportName: "e2e-podnet",
			testArgs: []string{"-test.parallel=6", "-test.timeout=1h"}},
		{name: "negative parallel", args: []string{"--agent-image", "cnigate/podnet-agent:t", "--parallel", "-1"}, wantErr: "--parallel -1", usage: true},
		{name: "a local node image, bridge", args: []string{"--cni", "bridge", "--node-image", "cnigate/node:x"}, nodeImage: "cnigate/node:x", reportName: "e2e-bridge"},
		{name: "gate mode", args: []string{"--kubeconfig", "kc"}, reportName: "e2e-gate"},
		{name: "gate mode with a node image", args: []string{"--kubeconfig", "kc", "--node-image", "x"}, wantErr: "--node-image creates a kind cluster", usage: true},
		{name: "podnet without its image", args: []string{}, wantErr: "make image", usage: true},
		{name: "an argument", args: []string{"--agent-image", "cnigate/podnet-agent:t", "extra"}, wantErr: `unexpected argument "extra"`, usage: true},
		{name: "a bad flag", args: []string{"--workers", "two"}, wantErr: "invalid value", usage: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, testArgs, err := e2eOptions(tc.args, io.Discard)
			var ue usageError
			switch {
			case tc.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if errors.As(err, &ue) != tc.usage {
					t.Errorf("usage error = %v, want %v", !tc.usage, tc.usage)
				}
			case err != nil:
				t.Fatal(err)
			default:
				if o.NodeImage != tc.nodeImage || o.ReportName != tc.reportName {
					t.Errorf("node image %q, report %q; want %q, %q", o.NodeImage, o.ReportName, tc.nodeImage, tc.reportName)
				}
				if tc.testArgs != nil && !slices.Equal(testArgs, tc.testArgs) {
					t.Errorf("test args %q, want %q", testArgs, tc.testArgs)
				}
				if err := o.Validate(); err != nil {
					t.Errorf("Validate() = %v", err)
				}
			}
		})
	}
}
