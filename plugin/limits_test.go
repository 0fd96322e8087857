package main

import (
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
)

func TestContainerIDLimit(t *testing.T) {
	tests := []struct {
		name   string
		idLen  int
		called bool
	}{
		{"a runtime's 64 hex digits", 64, true},
		{"exactly the limit", maxContainerIDLen, true},
		{"one byte over", maxContainerIDLen + 1, false},
		{"past the store's 4 KiB bound", 5000, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			called := false
			cmd := withEnvLimits(func(*skel.CmdArgs) error { called = true; return nil })
			err := cmd(&skel.CmdArgs{ContainerID: strings.Repeat("c", tt.idLen), IfName: "eth0"})
			if called != tt.called {
				t.Fatalf("command called = %v, want %v", called, tt.called)
			}
			if tt.called {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err := wantCode(err, types.ErrInvalidEnvironmentVariables, "CNI_CONTAINERID"); err != nil {
				t.Fatal(err)
			}
		})
	}
}
