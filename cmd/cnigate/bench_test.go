package main

import (
	"strings"
	"testing"
)

// The gate's command line; runs that reach the measuring need root and are
// checked by hand (docs/bench.md).
func TestBenchGateUsage(t *testing.T) {
	tmpl := "../../conformance/testdata/podnet.json.tmpl"
	for _, tc := range []struct {
		name       string
		args       []string
		wantStderr string
	}{
		{"candidate without netconf", []string{"--baseline-plugin", "/bin/true", "--netconf", tmpl, "--candidate", "/bin/true"}, `contender candidate: "netconf" missing`},
		{"gate of the baseline", []string{"--plugin", "a=/bin/true", "--netconf", tmpl, "--plugin", "b=/bin/true", "--netconf", tmpl, "--baseline", "b", "--gate", "b"}, `the candidate "b" is the baseline`},
		{"gate of no contender", []string{"--plugin", "a=/bin/true", "--netconf", tmpl, "--gate", "z"}, `the candidate "z" is not a contender`},
		{"negative tolerance", []string{"--baseline-plugin", "/bin/true", "--netconf", tmpl, "--candidate", "/bin/true", "--netconf", tmpl, "--tolerance", "-1"}, "tolerance -1"},
		{"baseline contradicting baseline-plugin", []string{"--baseline-plugin", "/bin/true", "--netconf", tmpl, "--baseline", "x"}, "--baseline x contradicts --baseline-plugin baseline"},
		{"field before a plugin", []string{"--field", "logFile=null"}, "--field must follow the --plugin"},
		{"field without =", []string{"--plugin", "/bin/true", "--field", "logFile"}, `"logFile" is not KEY=JSON`},
		{"field that is not JSON", []string{"--plugin", "/bin/true", "--field", "mtu=big"}, "--field mtu: value is not JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(append([]string{"bench"}, tc.args...)...)
			if code != 2 || !strings.Contains(stderr, tc.wantStderr) {
				t.Fatalf("exit %d, stderr %q; want exit 2 and %q", code, stderr, tc.wantStderr)
			}
		})
	}
}
