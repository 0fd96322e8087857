package main

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnigate/cnigate/agent"
)

func TestCommands(t *testing.T) {
	dir := t.TempDir()
	badConfig := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(badConfig, []byte(`{"network":"10.244.0.0/16","routes":"bgp"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantOut string // in stdout
		wantErr string // "" for success
	}{
		{"version", []string{"version"}, nil, "podnet-agent " + agent.Version + " (commit " + agent.Commit + ")", ""},
		{"run without a node name", []string{"run"}, map[string]string{"NODE_NAME": ""}, "", "--node-name"},
		{"run with a bad period", []string{"run", "--node-name", "n1", "--reconcile-period", "0s"}, nil, "", "--reconcile-period"},
		{"run with a missing config", []string{"run", "--node-name", "n1", "--config", filepath.Join(dir, "missing.json")}, nil, "", "missing.json"},
		{"run with a bad config", []string{"run", "--node-name", "n1", "--config", badConfig}, nil, "", `"routes"`},
		{"uninstall with a bad config", []string{"uninstall", "--config", badConfig}, nil, "", `"routes"`},
		{"unknown flag", []string{"run", "--no-such-flag"}, nil, "", "no-such-flag"},
		{"extra argument", []string{"version", "now"}, nil, "", "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			var out bytes.Buffer
			cmd := newRootCmd(slog.New(slog.NewTextHandler(&out, nil)))
			cmd.SetOut(&out)
			cmd.SetErr(&out)
			cmd.SetArgs(tt.args)
			err := cmd.Execute()
			if tt.wantErr == "" {
				if err != nil || !strings.Contains(out.String(), tt.wantOut) {
					t.Fatalf("err %v, output %q; want %q", err, out.String(), tt.wantOut)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err %v, want one mentioning %q", err, tt.wantErr)
			}
		})
	}
}
