package host

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRaiseInotifyLimits(t *testing.T) {
	for _, c := range []struct {
		name                string
		instances, watches  string
		wantRaised          []string
		wantInst, wantWatch string
		err                 string
	}{
		{name: "Debian defaults: both raised", instances: "128\n", watches: "192536\n",
			wantRaised: []string{"fs.inotify.max_user_instances 128 -> 512", "fs.inotify.max_user_watches 192536 -> 524288"}, wantInst: "512", wantWatch: "524288"},
		{name: "higher values stay", instances: "8192\n", watches: "1048576\n", wantInst: "8192\n", wantWatch: "1048576\n"},
		{name: "one raised", instances: "1024\n", watches: "8192\n",
			wantRaised: []string{"fs.inotify.max_user_watches 8192 -> 524288"}, wantInst: "1024\n", wantWatch: "524288"},
		{name: "not a number", instances: "many\n", watches: "1\n", err: "max_user_instances"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			old := sysctlDir
			sysctlDir = dir
			t.Cleanup(func() { sysctlDir = old })
			if err := os.MkdirAll(filepath.Join(dir, "fs/inotify"), 0o755); err != nil {
				t.Fatal(err)
			}
			write := func(name, v string) {
				if err := os.WriteFile(filepath.Join(dir, "fs/inotify", name), []byte(v), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			write("max_user_instances", c.instances)
			write("max_user_watches", c.watches)
			raised, err := RaiseInotifyLimits()
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want one containing %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range raised {
				got = append(got, r.String())
			}
			if strings.Join(got, "|") != strings.Join(c.wantRaised, "|") {
				t.Errorf("raised %q, want %q", got, c.wantRaised)
			}
			for name, want := range map[string]string{"max_user_instances": c.wantInst, "max_user_watches": c.wantWatch} {
				if raw, _ := os.ReadFile(filepath.Join(dir, "fs/inotify", name)); string(raw) != want {
					t.Errorf("%s = %q, want %q", name, raw, want)
				}
			}
		})
	}
}
