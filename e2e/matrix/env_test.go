package matrix

import (
	"flag"
	"io"
	"strings"
	"testing"
	"time"
)

// TestFlagsFromEnv: E2E_<NAME> sets an unset -e2e.<name>; the command line
// wins; an empty variable is no value; a bad value is an error naming the
// variable and the flag.
func TestFlagsFromEnv(t *testing.T) {
	for _, c := range []struct {
		name    string
		env     map[string]string
		args    []string
		kills   int
		timeout time.Duration
		hermet  bool
		wantErr string
	}{
		{name: "defaults", kills: 20, timeout: 45 * time.Second, hermet: true},
		{name: "from the environment", env: map[string]string{"E2E_AGENT_KILLS": "5", "E2E_CELL_TIMEOUT": "1m", "E2E_HERMETIC": "0"},
			kills: 5, timeout: time.Minute, hermet: false},
		{name: "command line wins", env: map[string]string{"E2E_AGENT_KILLS": "5"}, args: []string{"-e2e.agent-kills=7"},
			kills: 7, timeout: 45 * time.Second, hermet: true},
		{name: "empty is unset", env: map[string]string{"E2E_AGENT_KILLS": ""}, kills: 20, timeout: 45 * time.Second, hermet: true},
		{name: "bad value", env: map[string]string{"E2E_HERMETIC": "maybe"}, wantErr: "E2E_HERMETIC=maybe (-e2e.hermetic)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			fs := flag.NewFlagSet("e2e", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			kills := fs.Int("e2e.agent-kills", 20, "")
			timeout := fs.Duration("e2e.cell-timeout", 45*time.Second, "")
			hermetic := fs.Bool("e2e.hermetic", true, "")
			fs.Bool("test.v", false, "") // no prefix: never from the environment
			t.Setenv("E2E_V", "true")
			if err := fs.Parse(c.args); err != nil {
				t.Fatal(err)
			}
			err := FlagsFromEnv(fs, "e2e.")
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if *kills != c.kills || *timeout != c.timeout || *hermetic != c.hermet || fs.Lookup("test.v").Value.String() != "false" {
				t.Errorf("kills %d timeout %s hermetic %v test.v %s, want %d %s %v false", *kills, *timeout, *hermetic, fs.Lookup("test.v").Value, c.kills, c.timeout, c.hermet)
			}
		})
	}
}

// TestDocumentedEnv: the make variables ci/e2e.sh documents reach the suite
// through FlagsFromEnv, so each names a flag of Options.
func TestDocumentedEnv(t *testing.T) {
	fs := flag.NewFlagSet("e2e", flag.ContinueOnError)
	var o Options
	o.Register(fs, "e2e.")
	for env, flagName := range map[string]string{
		"E2E_CELL_TIMEOUT": "cell-timeout", "E2E_CHURN_ROUNDS": "churn-rounds", "E2E_MTU": "mtu",
		"E2E_BREAK": "break", "E2E_AGENT_KILLS": "agent-kills", "E2E_IMAGE": "image",
		"E2E_IMAGE_PULL_POLICY": "image-pull-policy", "E2E_EXTERNAL_NETWORK": "external-network",
		"E2E_HERMETIC": "hermetic",
	} {
		if fs.Lookup("e2e."+flagName) == nil {
			t.Errorf("%s: no flag -e2e.%s", env, flagName)
		}
	}
}
