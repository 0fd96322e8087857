package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnigate/cnigate/report"
)

func runCLI(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(context.Background(), args, &o, &e)
	return code, o.String(), e.String()
}

func TestExitStatusAndMessages(t *testing.T) {
	for _, tc := range []struct {
		name       string
		args       []string
		code       int
		wantStderr string
	}{
		{"no command", nil, 2, "usage: cnigate COMMAND"},
		{"unknown command", []string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{"conformance without --plugin", []string{"conformance", "--netconf", "x.json"}, 2, "--plugin is required"},
		{"conformance without a netconf", []string{"conformance", "--plugin", "/bin/true"}, 2, "give one of --netconf and --conflist"},
		{"conformance with both", []string{"conformance", "--plugin", "/bin/true", "--netconf", "a", "--conflist", "b"}, 2, "give one of --netconf and --conflist"},
		{"conformance unknown built-in", []string{"conformance", "--plugin", "/bin/true", "--netconf", "builtin:nope.json"}, 2, "no such built-in file"},
		{"conformance bad profile", []string{"conformance", "--plugin", "/bin/true", "--netconf", "builtin:ptp.json", "--profile", "../../conformance/testdata/ptp.json"}, 1, "unknown field"},
		{"publish without runs", []string{"publish"}, 2, "give at least one --run"},
		{"publish bad pair", []string{"publish", "--run", "bridge"}, 2, "want NAME=FILE"},
		{"help", []string{"help"}, 0, "report"},
		{"version with an argument", []string{"version", "extra"}, 2, `unexpected argument "extra"`},
		{"report without kind", []string{"report"}, 2, "name the kind of run"},
		{"report of an unknown kind", []string{"report", "frob", "--in", "../../report/testdata/matrix.json"}, 2, `unknown kind "frob"`},
		{"report without --in", []string{"report", "e2e"}, 2, "--in is required"},
		{"report of a missing file", []string{"report", "e2e", "--in", "/nonexistent.json"}, 1, "no such file"},
		{"report e2e-scale without runs", []string{"report", "e2e-scale"}, 2, "name the run directories"},
		{"report e2e-scale of a directory without a run", []string{"report", "e2e-scale", "../../report"}, 1, "no such file"},
		{"report of the wrong kind of JSON", []string{"report", "bench", "--in", "../../report/testdata/matrix.json"}, 1, `no "order"`},
		{"bench without contenders", []string{"bench"}, 2, "no contenders"},
		{"bench --netconf before --plugin", []string{"bench", "--netconf", "x.tmpl"}, 2, "--netconf must follow the --plugin"},
		{"bench --plugin without --netconf", []string{"bench", "--plugin", "/bin/true"}, 2, `contender true: "netconf" missing`},
		{"bench unknown baseline", []string{"bench", "--plugin", "/bin/true", "--netconf", "x", "--baseline", "y"}, 2, `"baseline" "y" is not a contender`},
		{"bench bad ipmasq", []string{"bench", "--ipmasq", "maybe"}, 2, "invalid value"},
		{"hermetic-clean with an argument", []string{"hermetic-clean", "extra"}, 2, `unexpected argument "extra"`},
		{"cluster-bench without --kubeconfig", []string{"cluster-bench"}, 2, "--kubeconfig is required"},
		{"bench --cluster is cluster-bench", []string{"bench", "--cluster", "--pods", "3"}, 2, "--kubeconfig is required"},
		{"cluster-bench with no pods", []string{"cluster-bench", "--kubeconfig", "k", "--pods", "0"}, 2, "must be at least 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.wantStderr) {
				t.Fatalf("exit %d, stderr %q; want exit %d and %q", code, stderr, tc.code, tc.wantStderr)
			}
		})
	}
}

func TestReportE2EScalePrintsATable(t *testing.T) {
	code, out, stderr := runCLI("report", "e2e-scale", "../../report/testdata", "../../report/testdata")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if n := strings.Count(out, "| 2 | 14 (12, 1) | 41.2 | 9.4 | 40.7 |"); n != 2 {
		t.Errorf("want the fixture run twice, got %d rows:\n%s", n, out)
	}
}

func TestVersionPrintsItsPins(t *testing.T) {
	code, out, _ := runCLI("version")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"cnigate ", "CNI spec versions: ", "1.1.0", "github.com/containernetworking/plugins", "kubernetes", "(ci/versions.sh)"} {
		if !strings.Contains(out, want) {
			t.Errorf("version output lacks %q:\n%s", want, out)
		}
	}
}

func TestReportWritesTheFourFormats(t *testing.T) {
	for _, tc := range []struct{ kind, in string }{
		{"e2e", "matrix.json"}, {"bench", "bench.json"}, {"conformance", "conformance.json"},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			dir := t.TempDir()
			in := filepath.Join(dir, tc.in)
			data, err := os.ReadFile(filepath.Join("../../report/testdata", tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(in, data, 0o644); err != nil {
				t.Fatal(err)
			}
			if tc.kind == "e2e" { // read from next to matrix.json
				phases, err := os.ReadFile("../../report/testdata/phases-e2e.tsv")
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, "phases-e2e.tsv"), phases, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			out := filepath.Join(dir, "out")
			code, stdout, stderr := runCLI("report", tc.kind, "--in", in, "--report-dir", out, "--name", "x-"+tc.kind)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			for _, f := range report.Files("x-" + tc.kind) {
				st, err := os.Stat(filepath.Join(out, f))
				if err != nil || st.Size() == 0 {
					t.Errorf("%s: %v", f, err)
				}
				if !strings.Contains(stdout, f) {
					t.Errorf("stdout does not name %s: %s", f, stdout)
				}
			}
			if tc.kind == "e2e" {
				page, _ := os.ReadFile(filepath.Join(out, "x-e2e.html"))
				if !strings.Contains(string(page), `id="waterfall"`) {
					t.Error("phases-e2e.tsv next to matrix.json was not read: no waterfall")
				}
			}
		})
	}
}
