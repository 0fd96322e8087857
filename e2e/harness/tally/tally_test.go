package tally

import (
	"strings"
	"testing"
	"time"

	"github.com/cnigate/cnigate/results"
)

func TestMatrixReport(t *testing.T) {
	var m Matrix
	lat := results.Cell{Behaviour: "pod-to-own-node", Name: "a", From: "shell-w1", To: "node w1", Protocol: "http", Result: results.Pass}
	lat.SetLatency(1500 * time.Microsecond)
	m.Add(results.Cell{Behaviour: "pod-to-pod-other-node", Name: "b", From: "shell-w1", To: "web-w2", Protocol: "icmp", Result: results.Fail, Detail: "3 sent, 0 received"})
	m.Add(lat)
	m.Add(results.Cell{Behaviour: "pod-to-pod-other-node", Name: "a", From: "shell-w2", To: "web-w1", Protocol: "icmp", Result: results.Skip})
	table := m.Table()
	for _, want := range []string{"BEHAVIOUR", "1.50ms", "FAIL", "3 sent, 0 received", "1 passed, 1 failed, 1 skipped"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	cells := m.Cells()
	if cells[0].Behaviour != "pod-to-pod-other-node" || cells[0].Name != "a" || cells[2].Behaviour != "pod-to-own-node" {
		t.Errorf("order %+v", cells)
	}
	r := m.Result(map[string]string{"mode": "kind"}, results.Phases{{Name: "cluster create", Seconds: 1}})
	if r.Passed != 1 || r.Failed != 1 || r.Skipped != 1 || len(r.Cells) != 3 || *r.Cells[2].LatencyMS != 1.5 || r.Cells[0].LatencyMS != nil {
		t.Errorf("matrix %+v", r)
	}
	if err := r.Check(); err != nil {
		t.Error(err)
	}
}

func TestPhases(t *testing.T) {
	var p Phases
	if err := p.Time("cluster create", func() error { return nil }); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(p.Lines(), "cluster create\t") {
		t.Errorf("lines %q", p.Lines())
	}
}
