package k8sconformance

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/cnigate/cnigate/internal/xfail"
	"github.com/cnigate/cnigate/results"
)

const (
	dnsSpec = "[sig-network] DNS should provide DNS for services [Conformance]"
	svcSpec = "[sig-network] Services should serve a basic endpoint from pods [Conformance]"
)

func spec(text string, state types.SpecState) types.SpecReport {
	container, leaf, _ := strings.Cut(text, " ")
	return types.SpecReport{ContainerHierarchyTexts: []string{container}, LeafNodeText: leaf, LeafNodeType: types.NodeTypeIt, State: state}
}

// fakeE2ETest writes an executable standing in for e2e.test: it prints a few
// lines of ginkgo's verbose output, copies report to the --ginkgo.json-report
// path it is given (none when report is nil) and exits with code.
func fakeE2ETest(t *testing.T, report []types.Report, code int) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "report.src.json")
	if report != nil {
		data, err := json.Marshal(report)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(src, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	script := `#!/bin/sh
for a in "$@"; do case $a in --ginkgo.json-report=*) out=${a#*=} ;; esac; done
echo "Will run 2 of 765 specs"
echo "------------------------------"
echo "` + dnsSpec + ` [sig-network, Conformance]"
echo "• [3.100 seconds]"
[ -f '` + src + `' ] && cp '` + src + `' "$out"
exit ` + string(rune('0'+code)) + "\n"
	path := filepath.Join(dir, "e2e.test")
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestRunJudgesAgainstTheList: a new failure fails the stage naming the spec;
// a listed spec that passes fails it too (as the netns suite's lists); the
// listed failure alone passes, whatever e2e.test's exit code.
func TestRunJudgesAgainstTheList(t *testing.T) {
	passed, failed := types.SpecStatePassed, types.SpecStateFailed
	knownDNS := dnsSpec + " | CoreDNS is broken on purpose in this test\n"
	tests := []struct {
		name     string
		specs    []types.SpecReport
		code     int
		known    string
		wantOK   bool
		wantText []string
	}{
		{"all pass, empty list", []types.SpecReport{spec(dnsSpec, passed), spec(svcSpec, passed)}, 0, "", true, []string{"2 specs ran: 2 passed"}},
		{"a NEW failure", []types.SpecReport{spec(dnsSpec, failed), spec(svcSpec, passed)}, 1, "", false,
			[]string{"FAIL: new failures (not in the list):", "  - " + dnsSpec + " (failed)"}},
		{"the known failure", []types.SpecReport{spec(dnsSpec, failed), spec(svcSpec, passed)}, 1, knownDNS, true,
			[]string{"FINDING:", dnsSpec, "why: CoreDNS is broken on purpose"}},
		{"a known failure that now passes", []types.SpecReport{spec(dnsSpec, passed), spec(svcSpec, passed)}, 0, knownDNS, false,
			[]string{"FAIL: listed as known failures but passed (remove them from the list):", "  - " + dnsSpec}},
		{"a known failure and a NEW one", []types.SpecReport{spec(dnsSpec, failed), spec(svcSpec, failed)}, 1, knownDNS, false,
			[]string{"FAIL: new failures", svcSpec}},
		{"every spec passed, yet e2e.test exited 1 (a process lost)", []types.SpecReport{spec(dnsSpec, passed), spec(svcSpec, passed)}, 1, "", false,
			[]string{"FAIL: new failures", "[suite] exited with exit status 1"}},
		{"nothing ran, empty list", nil, 0, "", false, []string{"0 specs ran"}},
		{"a BeforeSuite failure (cluster not ready) is never known", []types.SpecReport{{LeafNodeType: types.NodeTypeSynchronizedBeforeSuite, State: failed}}, 1, knownDNS, false,
			[]string{"[SynchronizedBeforeSuite]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			o := Options{Enabled: true, E2ETest: fakeE2ETest(t, []types.Report{{SpecReports: tt.specs}}, tt.code), Focus: "x", Procs: 1, Timeout: time.Minute}
			o.KnownFailures = filepath.Join(dir, "known")
			if err := os.WriteFile(o.KnownFailures, []byte("# a comment\n"+tt.known), 0o600); err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			got, err := Run(context.Background(), o, Target{Dir: filepath.Join(dir, "k8s"), CNI: "podnet", Out: &out})
			if err != nil {
				t.Fatal(err)
			}
			if got.OK != tt.wantOK || got.Verdict.OK != tt.wantOK {
				t.Errorf("OK = %v (verdict %v), want %v; output:\n%s", got.OK, got.Verdict.OK, tt.wantOK, out.String())
			}
			// the record's verdict is the printed one: its lists hold the specs the summary names
			res := got.Result("k8s")
			if res.Ran == 0 && len(tt.specs) > 0 && tt.specs[0].LeafNodeType == types.NodeTypeIt || res.List != got.Known || res.Artifacts != "k8s" {
				t.Errorf("Result = %+v", res)
			}
			for _, l := range [][]string{res.NewFailures, res.NowPassing, res.KnownFailed} {
				for _, spec := range l {
					if !strings.Contains(got.Summary, strings.TrimSuffix(spec, " (failed)")) {
						t.Errorf("verdict names %q, the summary does not:\n%s", spec, got.Summary)
					}
				}
			}
			for _, w := range tt.wantText {
				if !strings.Contains(got.Summary, w) {
					t.Errorf("summary lacks %q:\n%s", w, got.Summary)
				}
			}
			saved, err := os.ReadFile(filepath.Join(dir, "k8s", OutcomeFile))
			if err != nil || !strings.HasPrefix(string(saved), got.Line()) {
				t.Errorf("%s: %q, %v; want it to start with %q", OutcomeFile, saved, err, got.Line())
			}
			if !strings.Contains(out.String(), "k8s-conformance [1/2] passed [3.100 seconds]: "+dnsSpec+"\n") {
				t.Errorf("no progress line for the finished spec:\n%s", out.String())
			}
		})
	}
}

func TestRunWithoutReportIsAnError(t *testing.T) {
	o := Options{Enabled: true, E2ETest: fakeE2ETest(t, nil, 1), Focus: "x", Procs: 1, Timeout: time.Minute}
	_, err := Run(context.Background(), o, Target{Dir: t.TempDir(), CNI: "podnet", Out: &bytes.Buffer{}})
	if err == nil || !strings.Contains(err.Error(), "wrote no report") {
		t.Fatalf("err = %v, want 'wrote no report'", err)
	}
}

func TestRunRefusesABadListBeforeRunning(t *testing.T) {
	dir := t.TempDir()
	o := Options{Enabled: true, E2ETest: filepath.Join(dir, "never-run"), Focus: "x", Procs: 1, Timeout: time.Minute, KnownFailures: filepath.Join(dir, "known")}
	if err := os.WriteFile(o.KnownFailures, []byte(dnsSpec+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Run(context.Background(), o, Target{Dir: dir, Out: &bytes.Buffer{}})
	if err == nil || !strings.Contains(err.Error(), "want \"<spec text> | <reason>\"") {
		t.Fatalf("err = %v, want the list's line refused", err)
	}
}

func TestCommand(t *testing.T) {
	o := Options{E2ETest: "/b/e2e.test", Focus: "F", Skip: "S", Timeout: 30 * time.Minute}
	tg := Target{Kubeconfig: "/k", Context: "c", Dir: "/d"}
	tests := []struct {
		name     string
		procs    int
		target   Target
		wantName string
		want     []string
	}{
		{"one process", 1, tg, "/b/e2e.test", []string{"--ginkgo.focus=F", "--ginkgo.skip=S", "--ginkgo.timeout=30m0s", "--ginkgo.v", "--ginkgo.no-color",
			"--ginkgo.json-report=/d/report.json", "--provider=skeleton", "--report-dir=/d", "--kubeconfig=/k", "--context=c"}},
		{"ginkgo CLI", 4, tg, "/b/ginkgo", []string{"--procs=4", "--focus=F", "--skip=S", "--timeout=30m0s", "--v", "--no-color",
			"--output-dir=/d", "--json-report=report.json", "/b/e2e.test", "--", "--provider=skeleton", "--report-dir=/d", "--kubeconfig=/k", "--context=c"}},
		{"no kubeconfig: e2e.test's own default", 1, Target{Dir: "/d"}, "/b/e2e.test", []string{"--ginkgo.focus=F", "--ginkgo.skip=S", "--ginkgo.timeout=30m0s", "--ginkgo.v", "--ginkgo.no-color",
			"--ginkgo.json-report=/d/report.json", "--provider=skeleton", "--report-dir=/d"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := o
			o.Procs = tt.procs
			name, args := command(o, tt.target)
			if name != tt.wantName || !slices.Equal(args, tt.want) {
				t.Errorf("command = %s %q\nwant      %s %q", name, args, tt.wantName, tt.want)
			}
		})
	}
}

func TestKnownListShippedPerCNI(t *testing.T) {
	for _, cni := range []string{"podnet", "bridge"} {
		data, name, err := knownList(Options{}, cni)
		if err != nil || data == nil || !strings.Contains(name, cni+".known-failures") {
			t.Errorf("%s: %q, %v: want the shipped list", cni, name, err)
		}
	}
	if data, name, err := knownList(Options{}, "calico"); err != nil || data != nil || !strings.Contains(name, "every failure is new") {
		t.Errorf("calico: %q, %q, %v: want no list", data, name, err)
	}
}

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "e2e.test")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	ok := Options{Enabled: true, E2ETest: exe, Focus: "x", Procs: 1, Timeout: time.Minute}
	tests := []struct {
		name string
		edit func(*Options)
		want string // "" : valid
	}{
		{"valid", func(*Options) {}, ""},
		{"disabled: nothing checked", func(o *Options) { *o = Options{} }, ""},
		{"no e2e.test", func(o *Options) { o.E2ETest = filepath.Join(dir, "nope") }, "build it and the test images with ci/k8s-conformance.sh"},
		{"parallel without ginkgo", func(o *Options) { o.Procs = 4 }, "no ginkgo CLI beside e2e.test"},
		{"bad focus", func(o *Options) { o.Focus = "([" }, "k8s-conformance-focus"},
		{"empty focus", func(o *Options) { o.Focus = "" }, "would run every upstream spec"},
		{"no list file", func(o *Options) { o.KnownFailures = filepath.Join(dir, "nope") }, "k8s-conformance-known-failures"},
		{"zero procs", func(o *Options) { o.Procs = 0 }, "at least 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := ok
			tt.edit(&o)
			err := o.Validate()
			if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("Validate() = %v, want %q", err, tt.want)
			}
		})
	}
}

// TestProgress: one line per finished spec, in both of ginkgo's orders.
func TestProgress(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		want  string
	}{
		{"one process: text first", []string{"Will run 2 of 765 specs", "------------------------------", dnsSpec + " [sig-network, Conformance]", "some/file.go:1", "  STEP: x", "• [3.100 seconds]", "------------------------------", svcSpec + " [sig-network, Conformance]", "• [FAILED] [9.000 seconds]"},
			"k8s-conformance: Will run 2 of 765 specs\nk8s-conformance [1/2] passed [3.100 seconds]: " + dnsSpec + "\nk8s-conformance [2/2] FAILED [FAILED] [9.000 seconds]: " + svcSpec + "\n"},
		{"ginkgo CLI: result first", []string{"Will run 1 of 765 specs", "------------------------------", "SSS", "------------------------------", "• [0.413 seconds]", dnsSpec + " [sig-network, Conformance]", "some/file.go:1"},
			"k8s-conformance: Will run 1 of 765 specs\nk8s-conformance [1/1] passed [0.413 seconds]: " + dnsSpec + "\n"},
		{"ginkgo CLI: a failure, [It] where it failed", []string{"Will run 1 of 765 specs", "• [FAILED] [35.423 seconds]", "[sig-network] DNS [It] should provide DNS for services [Conformance] [sig-network, Conformance]"},
			"k8s-conformance: Will run 1 of 765 specs\nk8s-conformance [1/1] FAILED [FAILED] [35.423 seconds]: " + dnsSpec + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			p := &progress{out: &out}
			for _, l := range tt.lines {
				p.line(l)
			}
			p.flush()
			if out.String() != tt.want {
				t.Errorf("progress:\n%s\nwant:\n%s", out.String(), tt.want)
			}
		})
	}
}

// TestRecordedRun judges a recorded run (podnet, IPv4, kind: the 45 specs
// passed; testdata trimmed to the fields judged) against the shipped list, and
// the same run with one spec turned red: a NEW failure, named.
func TestRecordedRun(t *testing.T) {
	rep, err := results.ReadConformance("testdata/podnet-ipv4.report.json")
	if err != nil {
		t.Fatal(err)
	}
	const dnsCluster = "[sig-network] DNS should provide DNS for the cluster [Conformance]"
	redden := func(text string) func([]types.SpecReport) {
		return func(specs []types.SpecReport) {
			for i := range specs {
				if specs[i].FullText() == text {
					specs[i].State = types.SpecStateFailed
					return
				}
			}
			t.Fatalf("no spec %q in the recording", text)
		}
	}
	tests := []struct {
		name     string
		edit     func([]types.SpecReport)
		extra    string // lines added to the shipped list
		wantOK   bool
		wantText string
	}{
		{"as recorded", func([]types.SpecReport) {}, "", true, "45 specs ran: 45 passed, 0 failed"},
		{"a DNS spec fails: NEW", redden(dnsCluster), "", false, "FAIL: new failures (not in the list):\n  - " + dnsCluster + " (failed)"},
		{"the same failure listed", redden(dnsCluster), dnsCluster + " | a test reason\n", true, "why: a test reason"},
		{"listed but passed", func([]types.SpecReport) {}, dnsCluster + " | a test reason\n", false, "listed as known failures but passed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			specs := slices.Clone(rep.Specs())
			tt.edit(specs)
			known, name, err := knownList(Options{}, "podnet")
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			ok, err := xfail.Decide(specs, append(known, tt.extra...), name, &out)
			if err != nil {
				t.Fatal(err)
			}
			if ok != tt.wantOK || !strings.Contains(out.String(), tt.wantText) {
				t.Errorf("ok = %v (want %v), output lacks %q?\n%s", ok, tt.wantOK, tt.wantText, out.String())
			}
		})
	}
}

// TestRecordedBrokenRun: a real run on a broken cluster (CNI=bridge,
// E2E_BREAK=portmap: no portmap in the conflist; the HostPort spec and one
// Services spec focused) judged against the shipped bridge list: the HostPort
// failure is NEW and named.
func TestRecordedBrokenRun(t *testing.T) {
	rep, err := results.ReadConformance("testdata/bridge-ipv4-portmap-broken.report.json")
	if err != nil {
		t.Fatal(err)
	}
	known, name, err := knownList(Options{}, "bridge")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	ok, err := xfail.Decide(rep.Specs(), known, name, &out)
	if err != nil {
		t.Fatal(err)
	}
	want := "2 specs ran: 1 passed, 0 failed as listed in e2e/k8sconformance/lists/bridge.known-failures\n" +
		"FAIL: new failures (not in the list):\n" +
		"  - [sig-network] HostPort validates that there is no conflict between pods with same hostPort but different hostIP and protocol [LinuxOnly] [Conformance] (failed)\n"
	if ok || out.String() != want {
		t.Errorf("ok = %v, output:\n%s\nwant not ok and:\n%s", ok, out.String(), want)
	}
}

// TestRunLeavesNoProcessBehind: what e2e.test (or the ginkgo CLI's processes)
// started is killed with it when the run ends, so nothing goes on testing
// the cluster after the stage returns.
func TestRunLeavesNoProcessBehind(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child.pid")
	e2eTest := fakeE2ETest(t, []types.Report{{SpecReports: []types.SpecReport{spec(dnsSpec, types.SpecStatePassed)}}}, 0)
	script, err := os.ReadFile(e2eTest)
	if err != nil {
		t.Fatal(err)
	}
	// a child that would outlive the run: started in the background, its output detached
	withChild := strings.Replace(string(script), "#!/bin/sh\n", "#!/bin/sh\nsleep 600 >/dev/null 2>&1 &\necho $! >'"+pidFile+"'\n", 1)
	if err := os.WriteFile(e2eTest, []byte(withChild), 0o755); err != nil {
		t.Fatal(err)
	}
	o := Options{Enabled: true, E2ETest: e2eTest, Focus: "x", Procs: 1, Timeout: time.Minute, KnownFailures: filepath.Join(dir, "known")}
	if err := os.WriteFile(o.KnownFailures, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), o, Target{Dir: filepath.Join(dir, "k8s"), CNI: "podnet", Out: io.Discard}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid := strings.TrimSpace(string(data))
	// gone, or a zombie waiting for its new parent to reap it: not running
	deadline := time.Now().Add(10 * time.Second)
	for {
		stat, err := os.ReadFile("/proc/" + pid + "/stat")
		if err != nil || strings.Contains(string(stat), ") Z ") {
			return
		}
		if time.Now().After(deadline) {
			if n, err := strconv.Atoi(pid); err == nil {
				_ = syscall.Kill(n, syscall.SIGKILL)
			}
			t.Fatalf("the child %s of e2e.test still runs after Run returned: %s", pid, stat)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
