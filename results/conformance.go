package results

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

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
