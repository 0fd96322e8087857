package results

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Matrix is the e2e connectivity matrix of one run (matrix.json).
//
// v1 (from v0): the "schema" field; the phase timings (v0 had them only in
// phases-e2e.tsv beside it); "run_error"; results spelled pass, fail, skip
// (v0 wrote "FAIL").
//
// v2 (from v1): "coverage" (what ran of what was required), "record" (when,
// which versions, which nodes and CNI conf), a cell's "quality" (loss, RTT
// percentiles, throughput ratio) and the run's pod network "readiness"
// (quality.go); all absent in v1 files, which read as they are.
type Matrix struct {
	Schema string `json:"schema"`
	// Meta is the run's context (mode, cluster, node image, workers, host
	// memory under the Meta* keys, ...).
	Meta    map[string]string `json:"meta,omitempty"`
	Passed  int               `json:"passed"`
	Failed  int               `json:"failed"`
	Skipped int               `json:"skipped"`
	Cells   []Cell            `json:"cells"`
	// Phases are the suite's phase timings, in the order they ran.
	Phases Phases `json:"phases,omitempty"`
	// RunError, when set, failed the run outside any cell: setup failed or the
	// run was interrupted, so the cells listed are not all there are.
	RunError string `json:"run_error,omitempty"`
	// Coverage says whether every required behaviour ran (v2).
	Coverage *Coverage `json:"coverage,omitempty"`
	// Record is the run's record: dates, versions, nodes (v2).
	Record *Record `json:"record,omitempty"`
	// Readiness: pod creation to first answer from another node (v2).
	Readiness *Readiness `json:"readiness,omitempty"`
	// K8sConformance is the upstream Kubernetes conformance stage, when it ran.
	K8sConformance *K8sConformance `json:"k8s_conformance,omitempty"`
}

// Cell is one named check of the matrix.
type Cell struct {
	Behaviour string `json:"behaviour"`
	Name      string `json:"name"`
	From      string `json:"from"`
	To        string `json:"to"`
	Protocol  string `json:"protocol"`
	Result    Result `json:"result"`
	Attempts  int    `json:"attempts"`
	Detail    string `json:"detail,omitempty"`
	// LatencyMS is the measured latency of the last attempt, null when none.
	LatencyMS *float64 `json:"latency_ms"`
	// Quality is what a data-path quality cell measured (v2).
	Quality *Quality `json:"quality,omitempty"`
}

// SetLatency records d as LatencyMS (microsecond resolution; none for 0).
func (c *Cell) SetLatency(d time.Duration) {
	c.LatencyMS = nil
	if d > 0 {
		v := float64(d.Microseconds()) / 1000
		c.LatencyMS = &v
	}
}

// Phase is one timed step of the e2e suite (they run one after the other).
type Phase struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
}

// Phases are the suite's steps in order.
type Phases []Phase

// Phase names the e2e suite times and the growth table (cnigate report
// e2e-scale) reads, and the host memory keys of Matrix.Meta.
const (
	PhaseClusterCreate = "cluster create"
	PhasePodsReady     = "pods Ready"
	PhaseMatrix        = "matrix (tests)"

	MetaHostMemStart = "host_mem_start_mib"
	MetaHostMemPeak  = "host_mem_peak_mib"
	MetaHostMemRise  = "host_mem_rise_mib"
)

// TSV renders phases-e2e.tsv: "name<TAB>seconds" lines (ci/e2e.sh prints
// them).
func (p Phases) TSV() string {
	var b strings.Builder
	for _, ph := range p {
		fmt.Fprintf(&b, "%s\t%.1f\n", ph.Name, ph.Seconds)
	}
	return b.String()
}

// ReadPhasesTSV reads phases-e2e.tsv, the phases of a v0 matrix.json.
func ReadPhasesTSV(r io.Reader) (Phases, error) {
	var out Phases
	s := bufio.NewScanner(r)
	for n := 1; s.Scan(); n++ {
		line := strings.TrimSpace(s.Text())
		if line == "" {
			continue
		}
		name, secs, ok := strings.Cut(line, "\t")
		v, err := strconv.ParseFloat(strings.TrimSpace(secs), 64)
		if !ok || err != nil {
			return nil, fmt.Errorf("phases line %d: want name<TAB>seconds, got %q", n, line)
		}
		out = append(out, Phase{Name: name, Seconds: v})
	}
	return out, s.Err()
}

// Count tallies the cells into Passed, Failed and Skipped.
func (m *Matrix) Count() {
	m.Passed, m.Failed, m.Skipped = 0, 0, 0
	for _, c := range m.Cells {
		switch c.Result {
		case Pass:
			m.Passed++
		case Fail:
			m.Failed++
		default:
			m.Skipped++
		}
	}
}

// Spec implements File.
func (*Matrix) Spec() Spec { return Spec{Kind: KindMatrix, Version: 2, Oldest: 0} }

func (m *Matrix) schemaField() *string { return &m.Schema }

func (m *Matrix) upgrade(from int) error {
	if from == 0 {
		for i := range m.Cells {
			// v0 spelled a failure "FAIL"
			m.Cells[i].Result = Result(strings.ToLower(string(m.Cells[i].Result)))
		}
	}
	return nil
}

// Check refuses a matrix with no cells (unless the run failed before any),
// a cell without a name, protocol or valid result, and counts that do not
// match the cells.
func (m *Matrix) Check() error {
	if len(m.Cells) == 0 && m.RunError == "" {
		return errors.New(`no "cells": not the matrix of a run`)
	}
	for i, c := range m.Cells {
		if c.Name == "" || c.Protocol == "" {
			return fmt.Errorf("cell %d lacks a name or protocol", i)
		}
		if err := c.Result.check(fmt.Sprintf("cell %d (%s)", i, c.Name)); err != nil {
			return err
		}
	}
	counted := *m
	counted.Count()
	if counted.Passed != m.Passed || counted.Failed != m.Failed || counted.Skipped != m.Skipped {
		return fmt.Errorf("counts %d passed, %d failed, %d skipped, but the cells say %d, %d, %d",
			m.Passed, m.Failed, m.Skipped, counted.Passed, counted.Failed, counted.Skipped)
	}
	return nil
}
