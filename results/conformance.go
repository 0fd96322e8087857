package results

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/onsi/ginkgo/v2/types"
)

// Conformance is one plugin's run of the netns conformance suite. Its file
// is Ginkgo's own JSON report (NAME.ginkgo.json, --ginkgo.json-report: a
// list of suite reports), written by Ginkgo: it has no "schema" field, its
// format is that of the Ginkgo version go.mod pins.
type Conformance struct {
	// Plugin names the plugin (bridge, ptp, podnet, ...); "" for a single run.
	Plugin string
	// Reports are the suite reports of the run.
	Reports []types.Report
	// NotRun says why the host could not run the plugin (cnigate
	// conformance's NAME.not-run.txt); no Reports then.
	NotRun string
}

// Specs are every spec report of the run.
func (c *Conformance) Specs() []types.SpecReport {
	var specs []types.SpecReport
	for _, rep := range c.Reports {
		specs = append(specs, rep.SpecReports...)
	}
	return specs
}

// DecodeConformance reads a Ginkgo JSON report: unknown fields refused (a
// report of another Ginkgo version, or another kind of file).
func DecodeConformance(r io.Reader) (*Conformance, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if t := bytes.TrimSpace(data); len(t) > 0 && t[0] != '[' {
		return nil, errors.New("ginkgo JSON report: not a list of suite reports (a cnigate results file? then name its kind)")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var c Conformance
	if err := dec.Decode(&c.Reports); err != nil {
		return nil, fmt.Errorf("ginkgo JSON report: %w", err)
	}
	if len(c.Reports) == 0 {
		return nil, errors.New("ginkgo JSON report: no suite in it")
	}
	return &c, nil
}

// ReadConformance reads the Ginkgo JSON report at path (DecodeConformance);
// an error opening it is returned as it is, one decoding it names the path.
func ReadConformance(path string) (*Conformance, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	c, err := DecodeConformance(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// KnownFailuresVerdict is a Ginkgo run judged against a known-failures list
// (internal/xfail): OK only when the failures are exactly the list's (no new
// failure, no listed spec that passed or did not run) and a spec ran.
type KnownFailuresVerdict struct {
	OK bool `json:"ok"`
	// List names the list judged against (a path, or why there is none).
	List string `json:"list"`
	// Ran and Passed count the specs (It nodes) that ran and passed.
	Ran    int `json:"ran"`
	Passed int `json:"passed"`
	// KnownFailed: listed and failed, the expected finding; NewFailures:
	// failed, not listed ("<spec> (<state>)"); NowPassing: listed, passed;
	// NotRun: listed, not run. Sorted.
	KnownFailed []string `json:"known_failed,omitempty"`
	NewFailures []string `json:"new_failures,omitempty"`
	NowPassing  []string `json:"now_passing,omitempty"`
	NotRun      []string `json:"not_run,omitempty"`
}

// Line is the verdict in one line: "N specs ran: P passed, K failed as listed in LIST".
func (v KnownFailuresVerdict) Line() string {
	return fmt.Sprintf("%d specs ran: %d passed, %d failed as listed in %s", v.Ran, v.Passed, len(v.KnownFailed), v.List)
}

// K8sConformance is the optional upstream Kubernetes conformance stage of an
// e2e run (cnigate e2e --k8s-conformance): the [sig-network] Conformance
// specs of the pinned e2e.test on the matrix's cluster.
type K8sConformance struct {
	KnownFailuresVerdict
	Seconds float64 `json:"seconds"`
	// Artifacts is the directory of the stage's own reports (Ginkgo's JUnit
	// and JSON, the e2e.test log).
	Artifacts string `json:"artifacts"`
	// Error says why the stage could not judge a run (images not loaded, no
	// e2e.test, no report); the verdict is then empty and not OK.
	Error string `json:"error,omitempty"`
}
