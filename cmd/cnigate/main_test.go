package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
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
		{"report of an unknown kind", []string{"report", "frob", "--in", "../../results/testdata/matrix.json"}, 2, `unknown kind "frob"`},
		{"report without --in", []string{"report", "e2e"}, 2, "--in is required"},
		{"report of a missing file", []string{"report", "e2e", "--in", "/nonexistent.json"}, 1, "no such file"},
		{"report e2e-scale without runs", []string{"report", "e2e-scale"}, 2, "name the run directories"},
		{"report e2e-scale of a directory without a run", []string{"report", "e2e-scale", "../../report"}, 1, "no such file"},
		{"report bench of a matrix.json", []string{"report", "bench", "--in", "../../results/testdata/matrix.json"}, 1, `a e2e-matrix file (schema "e2e-matrix/v2"), not bench`},
		{"report e2e of a bench.json", []string{"report", "e2e", "--in", "../../results/testdata/bench.json"}, 1, `a bench file (schema "bench/v1"), not e2e-matrix`},
		{"report e2e of a v0 bench.json", []string{"report", "e2e", "--in", "../../results/testdata/v0/bench.json"}, 1, `a bench file (no "schema" field: v0, it has "contenders"), not e2e-matrix`},
		{"report cluster-bench of a bench.json", []string{"report", "cluster-bench", "--in", "../../results/testdata/bench.json"}, 1, `a bench file (schema "bench/v1"), not cluster-bench`},
		{"report conformance of a bench.json", []string{"report", "conformance", "--in", "../../results/testdata/bench.json"}, 1, "not a list of suite reports"},
		{"report e2e of a newer matrix", []string{"report", "e2e", "--in", "content:{\"schema\":\"e2e-matrix/v9\",\"cells\":[]}"}, 1, "this cnigate reads e2e-matrix/v0 to e2e-matrix/v2"},
		{"report e2e --phases with a v1 matrix.json", []string{"report", "e2e", "--in", "../../results/testdata/matrix.json", "--phases", "../../results/testdata/v0/phases-e2e.tsv"}, 2, "carries its phases"},
		{"report e2e of {}", []string{"report", "e2e", "--in", "content:{}"}, 1, `no "cells"`},
		{"report bench of {}", []string{"report", "bench", "--in", "content:{}"}, 1, `no "order" or no "contenders"`},
		{"report cluster-bench of {}", []string{"report", "cluster-bench", "--in", "content:{}"}, 1, `"cnis" must pool two CNIs`},
		{"report conformance of []", []string{"report", "conformance", "--in", "content:[]"}, 1, "no suite in it"},
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
			args := slices.Clone(tc.args)
			for i, a := range args {
				if content, ok := strings.CutPrefix(a, "content:"); ok { // a file holding content
					args[i] = filepath.Join(t.TempDir(), "in.json")
					if err := os.WriteFile(args[i], []byte(content), 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			code, stdout, stderr := runCLI(args...)
			if code != tc.code || !strings.Contains(stderr, tc.wantStderr) {
				t.Fatalf("exit %d, stderr %q; want exit %d and %q", code, stderr, tc.code, tc.wantStderr)
			}
			if code != 0 && strings.Contains(stdout, "passed") {
				t.Errorf("a failed command says on stdout: %s", stdout)
			}
		})
	}
}

func TestReportE2EScalePrintsATable(t *testing.T) {
	v0 := t.TempDir() // a v0 run: phases in phases-e2e.tsv
	for _, f := range []string{"matrix.json", "phases-e2e.tsv"} {
		copyFile(t, filepath.Join("../../results/testdata/v0", f), filepath.Join(v0, f))
	}
	code, out, stderr := runCLI("report", "e2e-scale", "../../results/testdata", v0)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if n := strings.Count(out, "| 2 | 14 (12, 1) | 41.2 | 9.4 | 40.7 |"); n != 2 {
		t.Errorf("want the fixture run twice (v1, v0), got %d rows:\n%s", n, out)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
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

func TestReportWritesEveryFormat(t *testing.T) {
	for _, tc := range []struct{ name, kind, in, phases string }{
		{"e2e", "e2e", "../../results/testdata/matrix.json", ""},
		{"e2e v0 with the phases beside it", "e2e", "../../results/testdata/v0/matrix.json", "../../results/testdata/v0/phases-e2e.tsv"},
		{"bench", "bench", "../../results/testdata/bench.json", ""},
		{"bench v0", "bench", "../../results/testdata/v0/bench.json", ""},
		{"cluster-bench", "cluster-bench", "../../results/testdata/produced/cluster-bench.json", ""},
		{"conformance", "conformance", "../../report/testdata/conformance.json", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			in := filepath.Join(dir, filepath.Base(tc.in))
			copyFile(t, tc.in, in)
			if tc.phases != "" { // read from next to matrix.json
				copyFile(t, tc.phases, filepath.Join(dir, "phases-e2e.tsv"))
			}
			out := filepath.Join(dir, "out")
			code, stdout, stderr := runCLI("report", tc.kind, "--in", in, "--report-dir", out, "--name", "x-"+tc.kind)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			files := report.Files("x-" + tc.kind)
			if len(files) != len(report.Formats) {
				t.Fatalf("files %v", files)
			}
			for _, f := range files {
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
					t.Error("no phases (matrix.json's, or phases-e2e.tsv next to a v0 one): no waterfall")
				}
			}
		})
	}
}

// publish writes the Markdown and the page, nothing else (the page is the
// HTML format alone, not four formats with three deleted).
func TestPublishWritesTheMarkdownAndThePage(t *testing.T) {
	dir := t.TempDir()
	known := filepath.Join(dir, "podnet.known-failures")
	if err := os.WriteFile(known, []byte("attachment lifecycle cniVersion 0.4.0 a second ADD of the same attachment fails and leaves the first intact | intermittent: a test reason\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	notRun := filepath.Join(dir, "vlan.not-run.txt")
	if err := os.WriteFile(notRun, []byte("no 8021q module\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "published")
	code, _, stderr := runCLI("publish", "--run", "podnet=../../report/testdata/conformance.json", "--known", "podnet="+known, "--not-run", "vlan="+notRun, "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, ",") != "README.md,index.html" {
		t.Errorf("published %v, want README.md and index.html only", names)
	}
	md, err := os.ReadFile(filepath.Join(out, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## podnet", "- 1 × a test reason", "why: intermittent: a test reason", "Not run: no 8021q module", "| `spec:ADD` | 0.3.0+ |", "| `convention:rollback` | — | (silent) |"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("README.md lacks %q", want)
		}
	}
	code, _, stderr = runCLI("publish", "--run", "podnet=../../report/testdata/conformance.json", "--known", "podnet="+notRun, "--out", out)
	if code != 1 || !strings.Contains(stderr, `want "<spec text> | <reason>"`) {
		t.Errorf("a malformed known-failures list: exit %d, %s", code, stderr)
	}
}
