package results

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Data-path quality (v2 of the matrix): what a burst of echoes and a TCP
// stream measured in a cell, and how long the pods took to reach a peer.

// Quality is what a quality cell measured on its last attempt; a field is
// absent when the cell does not measure it.
type Quality struct {
	// Burst of UDP echoes: sent, answered, loss and round-trip percentiles.
	Sent     int      `json:"sent,omitempty"`
	Received int      `json:"received,omitempty"`
	LossPct  *float64 `json:"loss_pct,omitempty"`
	RTTP50MS *float64 `json:"rtt_p50_ms,omitempty"`
	RTTP99MS *float64 `json:"rtt_p99_ms,omitempty"`
	// TCP throughput of the pod path and of the host path between the same
	// nodes (hostNetwork pods), and their ratio.
	PodMbps  *float64 `json:"pod_mbps,omitempty"`
	HostMbps *float64 `json:"host_mbps,omitempty"`
	Ratio    *float64 `json:"ratio,omitempty"`
}

// Readiness is the pod network readiness of a run: per pod, the time from
// its creation to its first answer from a peer on another node.
type Readiness struct {
	// Peer says what the pods reached (e.g. another node's kubelet port).
	Peer string  `json:"peer"`
	Pods int     `json:"pods"`
	P50S float64 `json:"p50_s"`
	P99S float64 `json:"p99_s"`
	MaxS float64 `json:"max_s"`
	// Missing names the pods without a figure and why (no answer in time,
	// no record); they count in Pods, not in the percentiles.
	Missing []string `json:"missing,omitempty"`
}

// LossPct is the share of sent echoes that got no answer, in percent; an
// answer counted twice (a duplicate) never makes it negative.
func LossPct(sent, received int) (float64, error) {
	if sent <= 0 {
		return 0, fmt.Errorf("sent %d: no echo sent, no loss to compute", sent)
	}
	if received < 0 {
		return 0, fmt.Errorf("received %d: negative", received)
	}
	received = min(received, sent)
	return 100 * float64(sent-received) / float64(sent), nil
}

// Percentile is the nearest-rank p-th percentile (0 < p <= 100) of vs: the
// smallest value with at least p% of the values at or below it. It sorts a
// copy; an empty vs is an error.
func Percentile[T time.Duration | float64](vs []T, p float64) (T, error) {
	if len(vs) == 0 {
		return 0, fmt.Errorf("percentile of no values")
	}
	if !(p > 0 && p <= 100) {
		return 0, fmt.Errorf("percentile %v: want 0 < p <= 100", p)
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[max(rank, 1)-1], nil
}

// Ms is d in milliseconds, to microseconds, as a JSON figure.
func Ms(d time.Duration) *float64 {
	v := float64(d.Microseconds()) / 1000
	return &v
}

// Float is a pointer to v, for the optional figures.
func Float(v float64) *float64 { return &v }
