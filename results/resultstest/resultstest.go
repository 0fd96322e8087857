// Package resultstest checks what a producer writes against its kind: the
// producers' tests (e2e/matrix, bench, e2e/clusterbench) run the real
// writing code on their smallest input and hand the file here.
package resultstest

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/cnigate/cnigate/results"
)

var update = flag.Bool("update", false, "rewrite results/testdata/produced/ from the producers' tests")

// Dir is results/testdata/produced, where the checked-in outputs are.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata", "produced")
}

// CheckProduced decodes the file at path into f with unknown fields refused
// (results.ReadFile), then compares it byte for byte with its checked-in
// copy results/testdata/produced/<name>; with -update it rewrites the copy
// instead (go test ./e2e/matrix ./bench ./e2e/clusterbench -run Produces -update).
func CheckProduced(t testing.TB, path, name string, f results.File) {
	t.Helper()
	if err := results.ReadFile(path, f); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join(Dir(), name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (go test ./e2e/matrix ./bench ./e2e/clusterbench -run Produces -update writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s: a producer's output changed; if on purpose, rerun with -update (and bump the kind's version if a field changed meaning)", path, golden)
	}
}
