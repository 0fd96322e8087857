package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnigate/cnigate/report"
	"github.com/cnigate/cnigate/results"
)

// Every verb's help goes to stdout, exits 0, shows examples and the exit
// codes.
func TestHelpOnStdout(t *testing.T) {
	cmds := [][]string{{"--help"}, {"help"}, {"help", "e2e"}, {"report", "--help"}, {"report", "e2e", "--help"}}
	for _, v := range verbs() {
		cmds = append(cmds, []string{v.name, "--help"}, []string{v.name, "-h"})
	}
	for _, args := range cmds {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, stdout, stderr := runCLI(args...)
			if code != 0 || stderr != "" {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			for _, want := range []string{"Usage:", "Exit status: 0"} {
				if !strings.Contains(stdout, want) {
					t.Errorf("help lacks %q:\n%s", want, stdout)
				}
			}
			if len(args) == 2 && args[0] != "help" && args[0] != "report" && !strings.Contains(stdout, "Examples:") {
				t.Errorf("no examples:\n%s", stdout)
			}
		})
	}
}

// A bad command line: the error once, short, with the usage hint; no help.
func TestErrorOnce(t *testing.T) {
	for _, args := range [][]string{{"e2e", "--workers", "two"}, {"frobnicate"}, {"rollout"}, {"bench", "--netconf", "x"}} {
		code, stdout, stderr := runCLI(args...)
		if code != 2 || stdout != "" {
			t.Errorf("%q: exit %d, stdout %q", args, code, stdout)
		}
		if n := strings.Count(stderr, "\n"); n != 2 || !strings.Contains(stderr, "--help' for usage.") || strings.Contains(stderr, "Flags:") {
			t.Errorf("%q: want one error line and one hint, got:\n%s", args, stderr)
		}
	}
}

func TestCompletion(t *testing.T) {
	for _, tc := range []struct{ shell, want string }{
		{"bash", "__start_cnigate"},
		{"zsh", "#compdef cnigate"},
		{"fish", "complete -c cnigate"},
	} {
		code, stdout, stderr := runCLI("completion", tc.shell)
		if code != 0 || !strings.Contains(stdout, tc.want) {
			t.Errorf("completion %s: exit %d, %s, stdout lacks %q", tc.shell, code, stderr, tc.want)
		}
	}
	// the verbs and a verb's flags complete
	_, stdout, _ := runCLI("__complete", "")
	for _, v := range []string{"e2e", "conformance", "rollout", "report", "completion"} {
		if !strings.Contains(stdout, v) {
			t.Errorf("verbs complete without %s:\n%s", v, stdout)
		}
	}
	_, stdout, _ = runCLI("__complete", "rollout", "--output", "")
	if !strings.Contains(stdout, "text\njson\n") {
		t.Errorf("--output completes without text and json:\n%s", stdout)
	}
	_, stdout, _ = runCLI("__complete", "e2e", "--")
	for _, f := range []string{"--kubeconfig", "--test", "--list", "--output", "--report-dir"} {
		if !strings.Contains(stdout, f) {
			t.Errorf("e2e flags complete without %s", f)
		}
	}
}

// kubectl-cnigate: the usage names "kubectl cnigate".
func TestKubectlPluginName(t *testing.T) {
	for _, tc := range []struct{ argv0, want string }{
		{"/usr/local/bin/kubectl-cnigate", "kubectl cnigate"},
		{"bin/cnigate", "cnigate"},
		{"kubectl-cni_gate", "kubectl cni-gate"},
	} {
		if got := binaryName(tc.argv0); got != tc.want {
			t.Errorf("binaryName(%q) = %q, want %q", tc.argv0, got, tc.want)
		}
	}
	var out, errb strings.Builder
	root := newRoot("kubectl cnigate", &out, &errb)
	root.SetArgs([]string{"e2e", "--help"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "kubectl cnigate e2e [flags]") || !strings.Contains(out.String(), "  kubectl cnigate e2e --kubeconfig") {
		t.Errorf("usage does not say kubectl cnigate:\n%s", out.String())
	}
}

// --output json: the results model the report files use, on stdout alone.
func TestOutputJSON(t *testing.T) {
	for _, tc := range []struct {
		kind, in string
		into     any
	}{
		{"e2e", "../../results/testdata/matrix.json", &results.Matrix{}},
		{"bench", "../../results/testdata/bench.json", &results.Bench{}},
		{"cluster-bench", "../../results/testdata/produced/cluster-bench.json", &results.ClusterBench{}},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			dir := t.TempDir()
			code, stdout, stderr := runCLI("report", tc.kind, "--in", tc.in, "--report-dir", dir, "--output", "json")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			dec := json.NewDecoder(strings.NewReader(stdout))
			dec.DisallowUnknownFields()
			if err := dec.Decode(tc.into); err != nil {
				t.Fatalf("stdout is not a %s document: %v\n%s", tc.kind, err, stdout)
			}
			if !strings.Contains(stderr, filepath.Join(dir, tc.kind+".html")) {
				t.Errorf("the files written are not on stderr: %s", stderr)
			}
			// the same document results reads from a file
			f := filepath.Join(dir, "again.json")
			if err := os.WriteFile(f, []byte(stdout), 0o644); err != nil {
				t.Fatal(err)
			}
			if code, _, stderr := runCLI("report", tc.kind, "--in", f, "--report-dir", dir); code != 0 {
				t.Errorf("the JSON output does not read back: %s", stderr)
			}
		})
	}
	code, stdout, _ := runCLI("version", "--output", "json")
	var v versionDoc
	if code != 0 || json.Unmarshal([]byte(stdout), &v) != nil || v.Version == "" {
		t.Errorf("version --output json: exit %d, %s", code, stdout)
	}
}

// report diff: a cell that turned red and a slower bench figure, between
// a fixture and a copy of it changed so.
func TestReportDiff(t *testing.T) {
	dir := t.TempDir()
	var m results.Matrix
	if err := results.ReadFile("../../results/testdata/matrix.json", &m); err != nil {
		t.Fatal(err)
	}
	red := -1
	for i, c := range m.Cells {
		if c.Result == results.Pass && red < 0 {
			red = i
		}
	}
	m.Cells[red].Result, m.Cells[red].Detail = results.Fail, "no answer"
	m.Passed, m.Failed = m.Passed-1, m.Failed+1
	b := filepath.Join(dir, "matrix.json")
	if err := results.WriteFile(b, &m); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI("report", "diff", "--report-dir", dir, "../../results/testdata/matrix.json", b)
	if code != 1 || !strings.Contains(stdout, "1 turned red") || !strings.Contains(stdout, m.Cells[red].Name) {
		t.Errorf("e2e: exit %d, %s%s", code, stdout, stderr)
	}

	var bench results.Bench
	if err := results.ReadFile("../../results/testdata/bench.json", &bench); err != nil {
		t.Fatal(err)
	}
	name := bench.Order[0]
	for i := range bench.Contenders[name].Add.SamplesMs {
		bench.Contenders[name].Add.SamplesMs[i] *= 3
	}
	b = filepath.Join(dir, "bench.json")
	if err := results.WriteFile(b, &bench); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ = runCLI("report", "diff", "--report-dir", dir, "../../results/testdata/bench.json", b, "--output", "json")
	var d report.Diff
	if err := json.Unmarshal([]byte(stdout), &d); err != nil {
		t.Fatalf("%v: %s", err, stdout)
	}
	var slower []string
	for _, x := range d.Bench {
		if x.Moved == report.Slower {
			slower = append(slower, x.Contender+" "+x.Metric)
		}
	}
	if code != 1 || len(slower) != 1 || slower[0] != name+" "+results.MetricAddP50 {
		t.Errorf("bench: exit %d, slower %v", code, slower)
	}
	if _, err := os.Stat(filepath.Join(dir, "diff.html")); err != nil {
		t.Errorf("no HTML page: %v", err)
	}
	if code, _, stderr := runCLI("report", "diff", "--report-dir", dir, "../../results/testdata/matrix.json", "../../results/testdata/bench.json"); code != 1 || !strings.Contains(stderr, "must be one") {
		t.Errorf("a matrix against a bench run: exit %d, %s", code, stderr)
	}
	if code, _, _ := runCLI("report", "diff", "a.json"); code != 2 {
		t.Errorf("one file: exit %d, want 2", code)
	}
}
