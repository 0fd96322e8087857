package docscheck

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The repository's own docs: the check `make lint` runs.
func TestRepositoryDocs(t *testing.T) {
	root := filepath.Join("..", "..")
	files, err := Files(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"README.md", ConformanceReport, "docs/podnet.md", "bench/README.md"} {
		if !slices.Contains(files, want) {
			t.Fatalf("Files(%s) = %v: %s missing", root, files, want)
		}
	}
	if slices.ContainsFunc(files, func(f string) bool { return strings.Contains(f, "testdata/") }) {
		t.Errorf("Files(%s) = %v: testdata is data, not documentation", root, files)
	}
	for _, p := range CheckLinks(root, files) {
		t.Error(p)
	}
	for _, p := range CheckConformanceCounts(root, files) {
		t.Error(p)
	}
	for _, p := range CheckLayout(root) {
		t.Error(p)
	}
}

func TestCheckLayout(t *testing.T) {
	layout := "# Dev\n\n## Layout\n\n| room | packages |\n|---|---|\n| Plugin | `plugin/`, `plugin/ipam` |\n\n## Next\n\n`forgotten`\n"
	for _, tc := range []struct {
		name string
		dirs []string // directories given a .go file
		want []string // packages reported missing
	}{
		{"all named", []string{"plugin", "plugin/ipam"}, nil},
		{"root package, ci and tools modules, testdata are not packages of the house", []string{".", "ci/node-image/pause", "tools/lint", "plugin/testdata/x", "plugin"}, nil},
		{"a package missing", []string{"plugin", "plugin/newthing"}, []string{"plugin/newthing/"}},
		{"named only outside the Layout section", []string{"forgotten"}, []string{"forgotten/"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			writeFile(t, filepath.Join(root, LayoutDoc), layout)
			for _, d := range tc.dirs {
				writeFile(t, filepath.Join(root, d, "a.go"), "package a\n")
				writeFile(t, filepath.Join(root, d, "b.go"), "package a\n")
			}
			var got []string
			for _, p := range CheckLayout(root) {
				for _, w := range tc.want {
					if strings.Contains(p.Msg, " "+w+" ") {
						got = append(got, w)
					}
				}
				if len(tc.want) == 0 {
					t.Errorf("unexpected: %s", p)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("CheckLayout reported %v, want %v", got, tc.want)
			}
		})
	}
}

func writeFile(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestSlug(t *testing.T) {
	for _, tc := range []struct{ heading, want string }{
		{"Error codes", "error-codes"},
		{"IPAM store format (version 1)", "ipam-store-format-version-1"},
		{"Dual-stack (`IP_FAMILY=dual`)", "dual-stack-ip_familydual"},
		{"The gate between two builds (`make bench BASELINE=...`)", "the-gate-between-two-builds-make-bench-baseline"},
		{"What podnet's own specs check", "what-podnets-own-specs-check"},
		{"[podnet](#podnet) and **bold**", "podnet-and-bold"},
		{"Ünïcode über alles", "ünïcode-über-alles"},
	} {
		if got := Slug(tc.heading); got != tc.want {
			t.Errorf("Slug(%q) = %q, want %q", tc.heading, got, tc.want)
		}
	}
}

func TestAnchors(t *testing.T) {
	md := "# Title\n\n## Notes\n\n```\n## not a heading\n```\n\n## Notes\n\n<a id=\"custom\"></a>\n"
	got := Anchors(md)
	for _, want := range []string{"title", "notes", "notes-1", "custom"} {
		if !got[want] {
			t.Errorf("anchor %q missing from %v", want, got)
		}
	}
	if got["not-a-heading"] {
		t.Errorf("a heading inside a code block became an anchor: %v", got)
	}
}

func TestLinks(t *testing.T) {
	md := strings.Join([]string{
		"See [a](a.md) and ![img](img/x.png \"title\").",
		"Code `[b](b.md)` and ``[c](c.md)`` is not a link; [d](d.md#x) is.",
		"```sh",
		"[e](e.md)",
		"```",
		"  ~~~",
		"[f](f.md)",
		"  ~~~",
		"[h](https://example.com)",
	}, "\n")
	var got []string
	for _, l := range Links(md) {
		got = append(got, l.Target)
	}
	want := []string{"a.md", "img/x.png", "d.md#x", "https://example.com"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("Links = %q, want %q", got, want)
	}
	if l := Links(md); l[2].Line != 2 {
		t.Errorf("d.md#x found on line %d, want 2", l[2].Line)
	}
}

// write creates files (path -> content) under a new root.
func write(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, content := range files {
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestCheckLinks(t *testing.T) {
	base := map[string]string{
		"docs/a.md":         "# A\n\n## Some section\n",
		"docs/sub/b.md":     "# B\n",
		"docs/measure/x.md": "x\n",
		"bench/notes.txt":   "bench\n",
	}
	for _, tc := range []struct {
		name, readme string
		wantProblem  string // "" for none
	}{
		{"file", "[a](docs/a.md)", ""},
		{"anchor", "[a](docs/a.md#some-section)", ""},
		{"own anchor", "# Top\n[t](#top)", ""},
		{"directory", "[m](docs/measure/)", ""},
		{"non-markdown anchor not checked", "[b](bench/notes.txt#x)", ""},
		{"external", "[x](https://example.com/missing.md) [m](mailto:a@b.c)", ""},
		{"in code", "`[x](missing.md)`", ""},
		{"missing file", "[x](docs/missing.md)", "no such file or directory: docs/missing.md"},
		{"missing anchor", "[a](docs/a.md#nope)", "no heading in docs/a.md has the anchor #nope"},
		{"missing own anchor", "# Top\n[t](#bottom)", "no heading in README.md has the anchor #bottom"},
		{"outside", "[x](../etc/passwd)", "points outside the repository"},
		{"absolute", "[x](/docs/a.md)", "absolute path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{"README.md": tc.readme}
			for k, v := range base {
				files[k] = v
			}
			root := write(t, files)
			problems := CheckLinks(root, []string{"README.md"})
			switch {
			case tc.wantProblem == "" && len(problems) > 0:
				t.Errorf("problems %v, want none", problems)
			case tc.wantProblem != "" && (len(problems) != 1 || !strings.Contains(problems[0].Msg, tc.wantProblem)):
				t.Errorf("problems %v, want one saying %q", problems, tc.wantProblem)
			}
		})
	}
	// A relative link is resolved against its own file's directory.
	root := write(t, map[string]string{"docs/sub/b.md": "[a](../a.md#some-section) [x](a.md)", "docs/a.md": "## Some section\n"})
	problems := CheckLinks(root, []string{"docs/sub/b.md"})
	if len(problems) != 1 || problems[0].Line != 1 || !strings.Contains(problems[0].Msg, "docs/sub/a.md") {
		t.Errorf("problems %v, want only docs/sub/a.md missing", problems)
	}
}

const report = `# Report

## Summary

| plugin | specs run | passed | failed | skipped by the profile | run time |
|---|---:|---:|---:|---:|---:|
| [podnet](#podnet) | 139 | 139 | 0 | 0 | 32 s |
| [bridge](#bridge) | 157 | 153 | 4 | 0 | 176 s |
| [vlan](#vlan) | not run on this machine | | | | |
`

func TestTables(t *testing.T) {
	tables := Tables("text\n\n" + report + "\n```\n| plugin | specs run |\n|---|---|\n| x | 1 |\n```\n")
	if len(tables) != 1 {
		t.Fatalf("%d tables, want 1 (a table inside a code block is none): %+v", len(tables), tables)
	}
	tb := tables[0]
	if tb.Line != 7 || tb.Header[1] != "specs run" || len(tb.Rows) != 3 || tb.Rows[0][0] != "podnet" || tb.Rows[1][3] != "4" || tb.RowLines[2] != 11 {
		t.Errorf("table %+v", tb)
	}
}

func TestCheckConformanceCounts(t *testing.T) {
	for _, tc := range []struct {
		name, doc   string
		wantProblem string
	}{
		{"match", "| plugin | specs run | failed |\n|---|---:|---:|\n| podnet | 139 | 0 |\n| **bridge** | 157 | 4 |\n", ""},
		{"order and subset of columns", "| plugin | specs run | skipped by the profile | passed |\n|---|---|---|---|\n| bridge | 157 | 0 | 153 |\n", ""},
		{"stale figure", "| plugin | specs run | failed |\n|---|---:|---:|\n| bridge | 157 | 5 |\n", `bridge failed is "5" here but "4"`},
		{"stale count", "| plugin | specs run |\n|---|---|\n| podnet | 138 |\n", `podnet specs run is "138" here but "139"`},
		{"unknown plugin", "| plugin | specs run |\n|---|---|\n| foo | 1 |\n", `plugin "foo" is not in`},
		{"unknown column", "| plugin | specs run | flaky |\n|---|---|---|\n| podnet | 139 | 0 |\n", `column "flaky" is not in`},
		{"no quote at all", "| plugin | what |\n|---|---|\n| podnet | ok |\n", "no document quotes its summary"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := write(t, map[string]string{ConformanceReport: report, "docs/conformance.md": "# C\n\n" + tc.doc})
			problems := CheckConformanceCounts(root, []string{ConformanceReport, "docs/conformance.md"})
			switch {
			case tc.wantProblem == "" && len(problems) > 0:
				t.Errorf("problems %v, want none", problems)
			case tc.wantProblem != "" && (len(problems) != 1 || !strings.Contains(problems[0].Msg, tc.wantProblem)):
				t.Errorf("problems %v, want one saying %q", problems, tc.wantProblem)
			}
		})
	}
}
