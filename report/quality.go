package report

import (
	"bytes"
	"fmt"

	"github.com/cnigate/cnigate/results"
)

// QualityView is the matrix's data-path quality: one row per cell that
// measured (loss and RTT of a burst, throughput against the host path) and
// the pods' network readiness.
type QualityView struct {
	Header    []string           `json:"header"`
	Rows      []QualityRow       `json:"rows"`
	Readiness *results.Readiness `json:"readiness,omitempty"`
}

// QualityRow is one measured cell, its figures already formatted.
type QualityRow struct {
	Cells  []string       `json:"cells"`
	Result results.Result `json:"result"`
}

// qualityView collects the measured cells of m (nil when none measured and
// there is no readiness: a v1 matrix).
func qualityView(m *results.Matrix) *QualityView {
	v := &QualityView{Readiness: m.Readiness,
		Header: []string{"behaviour", "cell", "loss %", "echoes", "RTT p50 ms", "RTT p99 ms", "pod Mbit/s", "host Mbit/s", "ratio", "result"}}
	for _, c := range m.Cells {
		q := c.Quality
		if q == nil {
			continue
		}
		row := []string{c.Behaviour, c.Name, num(q.LossPct, "%.1f"), "", num(q.RTTP50MS, "%.2f"), num(q.RTTP99MS, "%.2f"),
			num(q.PodMbps, "%.0f"), num(q.HostMbps, "%.0f"), num(q.Ratio, "%.2f"), string(c.Result)}
		if q.Sent > 0 {
			row[3] = fmt.Sprintf("%d/%d", q.Received, q.Sent)
		}
		v.Rows = append(v.Rows, QualityRow{Cells: row, Result: c.Result})
	}
	if len(v.Rows) == 0 && v.Readiness == nil {
		return nil
	}
	return v
}

// num formats an optional figure ("" when absent).
func num(v *float64, format string) string {
	if v == nil {
		return ""
	}
	return fmt.Sprintf(format, *v)
}

// ReadinessLine says the readiness figures in one sentence.
func (v *QualityView) ReadinessLine() string {
	r := v.Readiness
	if r == nil {
		return ""
	}
	line := fmt.Sprintf("Pod network readiness, creation to first answer from %s: p50 %.2f s, p99 %.2f s, max %.2f s over %d pods",
		r.Peer, r.P50S, r.P99S, r.MaxS, r.Pods-len(r.Missing))
	if len(r.Missing) > 0 {
		line += fmt.Sprintf("; %d without a figure: %v", len(r.Missing), r.Missing)
	}
	return line + "."
}

func mdQuality(b *bytes.Buffer, v *QualityView) {
	if v == nil {
		return
	}
	b.WriteString("### Data-path quality\n\n")
	if l := v.ReadinessLine(); l != "" {
		b.WriteString(mdText(l) + "\n\n")
	}
	if len(v.Rows) == 0 {
		return
	}
	var rows [][]string
	for _, r := range v.Rows {
		rows = append(rows, r.Cells)
	}
	mdTable(b, v.Header, rows)
}
