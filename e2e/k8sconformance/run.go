package k8sconformance

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cnigate/cnigate/internal/xfail"
	"github.com/cnigate/cnigate/results"
)

// lists are the known-failures lists shipped per CNI (the CNI table's names).
//
//go:embed lists/*.known-failures
var lists embed.FS

// Target is the cluster the stage runs against and where it writes.
type Target struct {
	// Kubeconfig and Context reach the cluster; an empty Kubeconfig leaves it to
	// e2e.test ($KUBECONFIG, else the pod's service account).
	Kubeconfig, Context string
	// CNI names the shipped known-failures list (Options.KnownFailures wins).
	CNI string
	// Dir gets junit_01.xml (the framework's JUnit), report.json (Ginkgo's
	// JSON report, what is judged), e2e-test.log and outcome.txt.
	Dir string
	Out io.Writer // progress and the outcome
}

// Outcome is what a run came to.
type Outcome struct {
	// OK: the failures were exactly the known-failures list (xfail.Decide).
	OK bool
	// Verdict is the judgement in full: counts and the specs of each kind.
	Verdict results.KnownFailuresVerdict
	// Summary is the decision as xfail prints it (counts, known failures with
	// their reasons, new failures, listed specs that passed).
	Summary  string
	Known    string // the list judged against
	Duration time.Duration
}

// Result is the outcome as the e2e record keeps it (results.Matrix), with
// the directory of the stage's own reports.
func (o Outcome) Result(dir string) *results.K8sConformance {
	return &results.K8sConformance{KnownFailuresVerdict: o.Verdict, Seconds: o.Duration.Seconds(), Artifacts: dir}
}

// Line is the outcome's first line ("N specs ran: ... ") with the verdict.
func (o Outcome) Line() string {
	first, _, _ := strings.Cut(o.Summary, "\n")
	verdict := "FAILED (off its known-failures list)"
	if o.OK {
		verdict = "passed"
	}
	return fmt.Sprintf("%s in %s: %s", verdict, o.Duration.Round(time.Second), first)
}

// Files of Target.Dir.
const (
	ReportFile  = "report.json"
	JUnitFile   = "junit_01.xml"
	LogFile     = "e2e-test.log"
	OutcomeFile = "outcome.txt"
)

// Images are the e2e test images e2e.test runs for these specs, as it names
// them (e2e.test -cnigate-images: ci/k8s-conformance/e2e-test), which
// ci/k8s-conformance.sh builds under exactly these references.
func Images(ctx context.Context, e2eTest string) ([]string, error) {
	out, err := exec.CommandContext(ctx, e2eTest, "-cnigate-images").Output()
	if err != nil {
		return nil, fmt.Errorf("%s -cnigate-images: %w (an e2e.test not built by ci/k8s-conformance.sh?)", e2eTest, err)
	}
	var refs []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if _, ref, ok := strings.Cut(l, " "); ok && ref != "" {
			refs = append(refs, ref)
		}
	}
	if len(refs) == 0 {
		return nil, fmt.Errorf("%s -cnigate-images named no image", e2eTest)
	}
	return refs, nil
}

// command is the e2e.test run: alone (Procs 1) or under the ginkgo CLI with
// Procs parallel processes ([Serial] specs, if not skipped, still run alone).
func command(o Options, t Target) (name string, args []string) {
	e2eArgs := []string{"--provider=skeleton", "--report-dir=" + t.Dir}
	if t.Kubeconfig != "" {
		e2eArgs = append(e2eArgs, "--kubeconfig="+t.Kubeconfig)
	}
	if t.Context != "" {
		e2eArgs = append(e2eArgs, "--context="+t.Context)
	}
	ginkgoArgs := []string{"focus=" + o.Focus, "skip=" + o.Skip, "timeout=" + o.Timeout.String(), "v", "no-color"}
	if o.Procs <= 1 {
		for _, a := range ginkgoArgs {
			args = append(args, "--ginkgo."+a)
		}
		return o.E2ETest, append(append(args, "--ginkgo.json-report="+filepath.Join(t.Dir, ReportFile)), e2eArgs...)
	}
	args = []string{"--procs=" + strconv.Itoa(o.Procs)}
	for _, a := range ginkgoArgs {
		args = append(args, "--"+a)
	}
	args = append(args, "--output-dir="+t.Dir, "--json-report="+ReportFile, o.E2ETest, "--")
	return o.ginkgo(), append(args, e2eArgs...)
}

// knownList is the list a run is judged against and its name for messages.
func knownList(o Options, cni string) (data []byte, name string, err error) {
	if o.KnownFailures != "" {
		data, err = os.ReadFile(o.KnownFailures)
		return data, o.KnownFailures, err
	}
	name = "lists/" + cni + ".known-failures"
	data, err = lists.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Sprintf("(no known-failures list shipped for CNI %q: every failure is new)", cni), nil
	}
	return data, "e2e/k8sconformance/" + name, err
}

// Run runs the specs against the target and judges them against the known
// failures. An error means the stage could not judge (no e2e.test, no
// report); a judged run that is off its list is Outcome.OK false.
func Run(ctx context.Context, o Options, t Target) (Outcome, error) {
	start := time.Now()
	known, knownName, err := knownList(o, t.CNI)
	if err != nil {
		return Outcome{}, err
	}
	if _, err := xfail.Parse(known, knownName); err != nil { // before the long run, not after
		return Outcome{}, err
	}
	if err := os.MkdirAll(t.Dir, 0o755); err != nil {
		return Outcome{}, err
	}
	for _, f := range []string{ReportFile, JUnitFile, LogFile, OutcomeFile} {
		if err := os.Remove(filepath.Join(t.Dir, f)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return Outcome{}, err
		}
	}
	logf, err := os.Create(filepath.Join(t.Dir, LogFile))
	if err != nil {
		return Outcome{}, err
	}
	defer func() { _ = logf.Close() }()

	name, args := command(o, t)
	_, _ = fmt.Fprintf(t.Out, "k8s-conformance: %s %s\n  (full output: %s)\n", name, strings.Join(args, " "), logf.Name())
	cmd := exec.CommandContext(ctx, name, args...)
	// Ctrl-C: let ginkgo stop its specs and write its report, then kill. The
	// ginkgo CLI runs e2e.test processes of its own: all in one process group,
	// signalled as one, and killed as one when the run ends, so none goes on
	// testing the cluster after cnigate returns.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGINT) }
	cmd.WaitDelay = time.Minute
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	prog := &progress{out: t.Out, start: start}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(io.TeeReader(pr, logf))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			prog.line(sc.Text())
		}
		_, _ = io.Copy(io.Discard, pr) // a line too long for the scanner: keep the pipe flowing
	}()
	stopTicker := prog.tick(time.Minute)
	runErr := cmd.Run()
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // whatever of the group is left (ESRCH: none)
	}
	_ = pw.Close()
	wg.Wait()
	stopTicker()
	prog.flush()

	out := Outcome{Known: knownName, Duration: time.Since(start)}
	rep, err := results.ReadConformance(filepath.Join(t.Dir, ReportFile))
	if pathErr := (*fs.PathError)(nil); errors.As(err, &pathErr) && pathErr.Op == "open" {
		exit := cmp.Or(runErr, errors.New("exit status 0"))
		return out, fmt.Errorf("%s wrote no report (%w): %w; its output: %s", filepath.Base(name), exit, err, logf.Name())
	}
	if err != nil {
		return out, err
	}
	var buf bytes.Buffer
	// e2e.test exits non-zero when any spec failed: the list decides, but a
	// non-zero exit no failed spec explains, or a suite-level failure, is new.
	if out.Verdict, err = xfail.JudgeReports(rep.Reports, runErr, known, knownName, &buf); err != nil {
		return out, err
	}
	out.OK = out.Verdict.OK
	out.Summary = buf.String()
	_, details, _ := strings.Cut(out.Summary, "\n") // (Line holds the summary's first line)
	_, _ = fmt.Fprintf(t.Out, "k8s-conformance: %s\n%s", out.Line(), details)
	return out, os.WriteFile(filepath.Join(t.Dir, OutcomeFile), []byte(out.Line()+"\n"+details), 0o644)
}

// progress turns ginkgo's verbose output into one line per finished spec
// (and one a minute while a spec runs long); everything goes to the log.
// One process prints a spec's text when it starts and "• [N seconds]" when it
// ends; the ginkgo CLI (parallel) prints the "•" line first, the text after.
type progress struct {
	out     io.Writer
	start   time.Time
	mu      sync.Mutex
	rule    bool   // the previous line was ginkgo's "----" separator
	current string // the text of the spec last started
	pending string // a "•" result line waiting for the spec's text on the next line
	done    int
	total   string
	// parallel: the ginkgo CLI runs several processes; no spec is "the" one running
	parallel bool
}

// specText is a line of ginkgo's output without its label list ("<text>
// [l1, l2]") and the "[It]" it puts where a failed spec failed.
func specText(l string) string {
	if i := strings.LastIndex(l, " ["); i > 0 && strings.HasSuffix(l, "]") && strings.Contains(l[i:], ", ") {
		l = l[:i]
	}
	return strings.Replace(l, " [It] ", " ", 1)
}

func (p *progress) line(l string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pending != "" {
		text := p.current
		if strings.HasPrefix(l, "[") {
			text = specText(l)
		}
		p.report(text)
	}
	rule := p.rule
	p.rule = strings.HasPrefix(l, "------------------------------")
	switch {
	case strings.HasPrefix(l, "Will run "), strings.HasPrefix(l, "Ran "), strings.HasPrefix(l, "Running in parallel"):
		if f := strings.Fields(l); len(f) >= 3 && f[0] == "Will" {
			p.total = f[2]
		}
		p.parallel = p.parallel || strings.HasPrefix(l, "Running in parallel")
		_, _ = fmt.Fprintf(p.out, "k8s-conformance: %s\n", l)
	case rule && strings.HasPrefix(l, "["):
		p.current = specText(l)
	case strings.HasPrefix(l, "• "):
		p.pending = strings.TrimPrefix(l, "• ")
	}
}

// report prints the pending result with the spec's text.
func (p *progress) report(text string) {
	p.done++
	result := "passed"
	for _, bad := range []string{"[FAILED]", "[PANICKED]", "[TIMEDOUT]", "[INTERRUPTED]"} {
		if strings.Contains(p.pending, bad) {
			result = "FAILED"
		}
	}
	_, _ = fmt.Fprintf(p.out, "k8s-conformance [%d/%s] %s %s: %s\n", p.done, p.total, result, p.pending, text)
	p.pending = ""
}

// flush reports a result the output ended on.
func (p *progress) flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pending != "" {
		p.report(p.current)
	}
}

// tick reports every d that the stage is still running; the returned func stops it.
func (p *progress) tick(d time.Duration) func() {
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				p.mu.Lock()
				running := ""
				if !p.parallel && p.current != "" {
					running = ", running: " + p.current
				}
				_, _ = fmt.Fprintf(p.out, "k8s-conformance: %s, %d/%s specs done%s\n",
					time.Since(p.start).Round(time.Second), p.done, p.total, running)
				p.mu.Unlock()
			}
		}
	}()
	return func() { close(stop) }
}
