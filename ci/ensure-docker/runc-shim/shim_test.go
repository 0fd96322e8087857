package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

var dropSysResource = map[string]bool{"CAP_SYS_RESOURCE": true}

func TestMissingFromStatus(t *testing.T) {
	got, err := missingFromStatus("Name:\tx\nCapBnd:\t000001fffeffffff\nCapAmb:\t0\n")
	if err != nil {
		t.Fatal(err)
	}
	if want := dropSysResource; !reflect.DeepEqual(got, want) {
		t.Fatalf("missing = %v, want %v", got, want)
	}
	got, err = missingFromStatus("CapBnd:\t000001ffffffffff\n")
	if err != nil || len(got) != 0 {
		t.Fatalf("full set: missing = %v, err = %v", got, err)
	}
}

func TestFixSpecKeepsOtherFields(t *testing.T) {
	in := `{"ociVersion":"1.0.2","process":{"args":["/sbin/init"],"capabilities":{` +
		`"bounding":["CAP_CHOWN","CAP_SYS_RESOURCE"],"effective":["CAP_SYS_RESOURCE"]}},"root":{"path":"rootfs"}}`
	out, changed, err := fixSpec([]byte(in), false, dropSysResource)
	if err != nil || !changed {
		t.Fatalf("changed = %v, err = %v", changed, err)
	}
	var spec struct {
		OCIVersion string `json:"ociVersion"`
		Process    struct {
			Args         []string            `json:"args"`
			Capabilities map[string][]string `json:"capabilities"`
		} `json:"process"`
		Root map[string]string `json:"root"`
	}
	if err := json.Unmarshal(out, &spec); err != nil {
		t.Fatal(err)
	}
	if spec.OCIVersion != "1.0.2" || spec.Root["path"] != "rootfs" || spec.Process.Args[0] != "/sbin/init" {
		t.Fatalf("lost fields: %s", out)
	}
	want := map[string][]string{"bounding": {"CAP_CHOWN"}, "effective": {}}
	if !reflect.DeepEqual(spec.Process.Capabilities, want) {
		t.Fatalf("caps = %v, want %v", spec.Process.Capabilities, want)
	}
}

func TestFixInvocation(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.json")
	proc := filepath.Join(dir, "process.json")
	spec := `{"process":{"capabilities":{"bounding":["CAP_SYS_RESOURCE","CAP_KILL"]}}}`
	if err := os.WriteFile(cfg, []byte(spec), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(proc, []byte(`{"capabilities":{"permitted":["CAP_SYS_RESOURCE"]}}`), 0o600); err != nil {
		t.Fatal(err)
	}

	args := []string{"--root", "/run/runc", "--log=x", "create", "--bundle", dir, "id"}
	if got := fixInvocation(append([]string(nil), args...), dropSysResource); !reflect.DeepEqual(got, args) {
		t.Fatalf("create args changed: %v", got)
	}
	if b, _ := os.ReadFile(cfg); string(b) != `{"process":{"capabilities":{"bounding":["CAP_KILL"]}}}` {
		t.Fatalf("config.json = %s", b)
	}

	got := fixInvocation([]string{"exec", "--process=" + proc, "-c", "CAP_SYS_RESOURCE", "--cap", "CAP_KILL", "id"}, dropSysResource)
	if want := []string{"exec", "--process=" + proc, "--cap", "CAP_KILL", "id"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("exec args = %v, want %v", got, want)
	}
	if b, _ := os.ReadFile(proc); string(b) != `{"capabilities":{"permitted":[]}}` {
		t.Fatalf("process.json = %s", b)
	}

	for _, a := range [][]string{{"--version"}, {"state", "id"}, {}} {
		if got := fixInvocation(a, dropSysResource); !reflect.DeepEqual(got, a) {
			t.Fatalf("%v changed to %v", a, got)
		}
	}
}
