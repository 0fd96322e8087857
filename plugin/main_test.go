package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/types"
)

// runMainEnv makes the test binary run podnet's main instead of the tests, so
// that main's exit status and output can be checked as a runtime sees them.
const runMainEnv = "PODNET_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	switch os.Getenv(runMainEnv) {
	case "1":
		main()
		os.Exit(0)
	case "gomaxprocs": // and then say how many Ps main left the process
		main()
		fmt.Fprint(os.Stderr, runtime.GOMAXPROCS(0))
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestMainWithoutCNICommandFails(t *testing.T) {
	tests := []struct {
		name     string
		env      []string
		wantCode uint // 0: success
	}{
		{"no CNI_COMMAND", nil, types.ErrInvalidEnvironmentVariables},
		{"empty CNI_COMMAND", []string{"CNI_COMMAND="}, types.ErrInvalidEnvironmentVariables},
		{"VERSION still works", []string{"CNI_COMMAND=VERSION"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append([]string{runMainEnv + "=1", "PATH=" + os.Getenv("PATH")}, tt.env...)
			stdout, err := cmd.Output()
			var exitErr *exec.ExitError
			switch {
			case tt.wantCode == 0 && err != nil:
				t.Fatalf("exit %v, output %s", err, stdout)
			case tt.wantCode == 0:
				return
			case !errors.As(err, &exitErr) || exitErr.ExitCode() == 0:
				t.Fatalf("exit %v, want a failure; output %s", err, stdout)
			}
			var cniErr types.Error
			if err := json.Unmarshal(stdout, &cniErr); err != nil || cniErr.Code != tt.wantCode {
				t.Fatalf("stdout %q: want a CNI error with code %d", stdout, tt.wantCode)
			}
		})
	}
}

// TestMainRunsOneP: podnet runs with one P unless GOMAXPROCS says otherwise
// (oneP).
func TestMainRunsOneP(t *testing.T) {
	for _, tc := range []struct{ env, want string }{
		{"", "1"},
		{"GOMAXPROCS=3", "3"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = []string{runMainEnv + "=gomaxprocs", "PATH=" + os.Getenv("PATH"), "CNI_COMMAND=VERSION", tc.env}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil || stderr.String() != tc.want {
			t.Errorf("env %q: GOMAXPROCS %q after main (%v), want %s", tc.env, stderr.String(), err, tc.want)
		}
	}
}
