package main

import (
	"errors"
	"io"
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
	}{
		{name: "defaults: the published node image", args: []string{"--plugin", "/bin/true"}, nodeImage: cnigate.PublishedNodeImage(), reportName: "e2e-podnet"},
		{name: "a local node image, bridge", args: []string{"--cni", "bridge", "--node-image", "cnigate/node:x"}, nodeImage: "cnigate/node:x", reportName: "e2e-bridge"},
		{name: "gate mode", args: []string{"--kubeconfig", "kc"}, reportName: "e2e-gate"},
		{name: "gate mode with a node image", args: []string{"--kubeconfig", "kc", "--node-image", "x"}, wantErr: "--node-image creates a kind cluster", usage: true},
		{name: "podnet without its binary", args: []string{"--plugin", "/nonexistent/podnet"}, wantErr: "make build"},
		{name: "an argument", args: []string{"--plugin", "/bin/true", "extra"}, wantErr: `unexpected argument "extra"`, usage: true},
		{name: "a bad flag", args: []string{"--workers", "two"}, wantErr: "invalid value", usage: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, _, err := e2eOptions(tc.args, io.Discard)
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
				if err := o.Validate(); err != nil {
					t.Errorf("Validate() = %v", err)
				}
			}
		})
	}
}
