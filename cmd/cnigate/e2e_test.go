package main

import (
	"encoding/json"
	"errors"
	"flag"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/cnigate/cnigate"
	"github.com/cnigate/cnigate/e2e/matrix"
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
		{name: "a bad flag", args: []string{"--workers", "two"}, wantErr: `invalid argument "two" for "--workers"`, usage: true},
		{name: "a bad --test", args: []string{"--agent-image", "cnigate/podnet-agent:t", "--test", "a,(b"}, wantErr: `"(b"`, usage: true},
		{name: "the old single-dash flags", args: []string{"-agent-image", "cnigate/podnet-agent:t", "-workers=8"}, nodeImage: cnigate.PublishedNodeImage(), reportName: "e2e-podnet",
			testArgs: []string{"-test.parallel=16", "-test.timeout=40m"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, testArgs, err := e2eOptions(tc.args)
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

// e2eOptions parses args as the e2e verb's command line (cobra, the flags
// as registered) and resolves them, without running the suite.
func e2eOptions(args []string) (matrix.Options, []string, error) {
	root := newRoot("cnigate", io.Discard, io.Discard)
	cmd, _, err := root.Find([]string{"e2e"})
	if err != nil {
		return matrix.Options{}, nil, err
	}
	var e e2eCmd
	fs := flag.NewFlagSet("e2e", flag.ContinueOnError)
	e.register(fs)
	cmd.ResetFlags()
	cmd.Flags().AddGoFlagSet(fs)
	if err := cmd.ParseFlags(longFlags(root, args)); err != nil {
		return e.o, nil, usageError{err.Error()}
	}
	testArgs, err := e.resolve(&call{args: cmd.Flags().Args(), stdout: io.Discard, stderr: io.Discard, changed: cmd.Flags().Changed})
	return e.o, testArgs, err
}

// --list: the rows --test selects, and never a cluster.
func TestE2EList(t *testing.T) {
	for _, tc := range []struct {
		name      string
		test      []string
		want      []string // rows listed
		notWanted []string // rows not listed
		matching  []string // rows listed for their matching cells only
	}{
		{name: "everything", want: []string{"Connectivity/pod -> pod, other node", "IPAM/churn", "Healing/"}},
		{name: "one group", test: []string{"^Contract/"}, want: []string{"Contract/ClusterIP UDP, backend other node"}, notWanted: []string{"Connectivity/", "IPAM/", "Healing/"}},
		{name: "excluded", test: []string{"!Healing,!UDP"}, want: []string{"Contract/ClusterIP TCP, backend same node", "IPAM/churn"}, notWanted: []string{"Healing/", "UDP"}},
		{name: "group minus a row", test: []string{"^Contract/", "!NodePort"}, want: []string{"Contract/hostPort from another node"}, notWanted: []string{"NodePort", "Connectivity/"}},
		{name: "a cell name", test: []string{"http:shell-"}, matching: []string{"Connectivity/pod -> pod, same node"}, notWanted: []string{"IPAM/churn"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"e2e", "--list", "--output", "json"}
			for _, x := range tc.test {
				args = append(args, "--test", x)
			}
			code, stdout, stderr := runCLI(args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var rows []matrix.Listed
			if err := json.Unmarshal([]byte(stdout), &rows); err != nil {
				t.Fatalf("--output json: %v\n%s", err, stdout)
			}
			listed := map[string]string{}
			var all []string
			for _, r := range rows {
				listed[r.Group+"/"+r.Behaviour] = r.Cells
				all = append(all, r.Group+"/"+r.Behaviour)
			}
			has := func(prefix string) bool {
				for _, n := range all {
					if strings.Contains(n, prefix) {
						return true
					}
				}
				return false
			}
			for _, w := range tc.want {
				if !has(w) {
					t.Errorf("%q not listed: %q", w, all)
				}
			}
			for _, w := range tc.notWanted {
				if has(w) {
					t.Errorf("%q listed: %q", w, all)
				}
			}
			for _, m := range tc.matching {
				if listed[m] != "matching" {
					t.Errorf("%q: cells %q, want matching", m, listed[m])
				}
			}
			// the text form names the same rows, one a line
			_, text, _ := runCLI(append(args[:2:2], args[4:]...)...)
			if n := strings.Count(text, "\n"); n != len(rows) {
				t.Errorf("text --list has %d lines, json %d rows", n, len(rows))
			}
		})
	}
}
