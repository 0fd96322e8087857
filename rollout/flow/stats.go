package flow

import (
	"sort"
	"time"
)

// Gap is a stretch without a successful exchange on one flow.
type Gap struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	Ms   float64   `json:"ms"`
	// Open: no success had ended it when the events were read.
	Open bool `json:"open,omitempty"`
}

// Stats is one flow inside a window.
type Stats struct {
	Client string `json:"client"`
	Target string `json:"target"`
	Kind   string `json:"kind"`
	// OK, Fail: the batches written inside the window (a batch counts the
	// exchanges since the flow's previous batch, so the window's edges are
	// exact to one flush interval).
	OK   int `json:"ok"`
	Fail int `json:"fail"`
	// Resets and Lost connections inside the window (long-lived TCP only).
	Resets int `json:"resets"`
	Lost   int `json:"lost"`
	// MaxGapMs: the longest time without a success, counting only its part
	// inside the window.
	MaxGapMs float64 `json:"max_gap_ms"`
	// Gaps: the reported gaps (longer than the client's threshold) that overlap the window.
	Gaps []Gap `json:"gaps,omitempty"`
	// LastEvent: the flow's last event of any time (a client that went
	// silent stops there).
	LastEvent time.Time `json:"last_event"`
}

// LossPct is the share of failed exchanges, in percent (0 without any).
func (s Stats) LossPct() float64 {
	if s.OK+s.Fail == 0 {
		return 0
	}
	return 100 * float64(s.Fail) / float64(s.OK+s.Fail)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// clipped is how much of the gap [a, b] lies inside [from, to], in ms: a
// window is charged only for its part of an outage that began before it
// (the previous node's) or ended after it.
func clipped(a, b, from, to time.Time) float64 {
	if a.Before(from) {
		a = from
	}
	if b.After(to) {
		b = to
	}
	if b.Before(a) {
		return 0
	}
	return ms(b.Sub(a))
}

// overlaps: [a, b] meets [from, to].
func overlaps(a, b, from, to time.Time) bool { return !b.Before(from) && !a.After(to) }

// Summarize computes each flow's Stats inside [from, to], from all the
// events read so far (events of any time: a gap that began before the
// window and ended inside it counts). A flow whose last batch shows no
// success since LastOK has an open gap up to that batch (a lower bound: the
// flow is still down when the events were read). Flows come sorted by key.
func Summarize(events []Event, from, to time.Time) []Stats {
	type acc struct {
		s       Stats
		start   time.Time
		last    *Event // the flow's last batch so far
		hasLast bool
		prevT   time.Time // the last batch's time
		// the longest gap event since the last batch
		gapT  time.Time
		gapMs float64
	}
	flows := map[Key]*acc{}
	get := func(k Key) *acc {
		a := flows[k]
		if a == nil {
			a = &acc{s: Stats{Client: k.Client, Target: k.Target, Kind: k.Kind}}
			flows[k] = a
		}
		return a
	}
	sorted := make([]Event, 0, len(events))
	for _, e := range events {
		if e.Kind != "" { // start/stop of the whole client carry no kind
			sorted = append(sorted, e)
		}
	}
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].T.Before(sorted[j].T) })
	for i := range sorted {
		e := &sorted[i]
		a := get(e.Key())
		if e.T.After(a.s.LastEvent) {
			a.s.LastEvent = e.T
		}
		in := !e.T.Before(from) && !e.T.After(to)
		switch e.Ev {
		case EvStart:
			a.start = e.T
		case EvBatch:
			// The batch's longest gap is a reported one (a gap event since
			// the previous batch, placed exactly and counted there), or
			// else short; either way only its part inside the window
			// counts, at most the batch's time since from.
			reported := a.gapT.After(a.prevT) && a.gapMs >= e.MaxGapMs
			a.last, a.hasLast, a.prevT = e, true, e.T
			if in {
				a.s.OK += e.OK
				a.s.Fail += e.Fail
				if !reported {
					a.s.MaxGapMs = max(a.s.MaxGapMs, min(e.MaxGapMs, ms(e.T.Sub(from))))
				}
			}
		case EvGap:
			if e.MaxGapMs > a.gapMs || !a.gapT.After(a.prevT) {
				a.gapT, a.gapMs = e.T, e.MaxGapMs
			}
			if e.From != nil && overlaps(*e.From, e.T, from, to) {
				a.s.Gaps = append(a.s.Gaps, Gap{From: *e.From, To: e.T, Ms: e.MaxGapMs})
				a.s.MaxGapMs = max(a.s.MaxGapMs, clipped(*e.From, e.T, from, to))
			}
		case EvReset:
			if in {
				a.s.Resets++
			}
		case EvLost:
			if in {
				a.s.Lost++
			}
		}
	}
	out := make([]Stats, 0, len(flows))
	for _, a := range flows {
		// The open gap: the last batch says the last success was at LastOK
		// (or none since the start) and later failures only.
		if a.hasLast && a.last.Fail > 0 && a.last.OK == 0 {
			since := a.start
			if a.last.LastOK != nil {
				since = *a.last.LastOK
			}
			if !since.IsZero() && overlaps(since, a.last.T, from, to) {
				g := Gap{From: since, To: a.last.T, Ms: ms(a.last.T.Sub(since)), Open: true}
				a.s.Gaps = append(a.s.Gaps, g)
				a.s.MaxGapMs = max(a.s.MaxGapMs, clipped(g.From, g.To, from, to))
			}
		}
		out = append(out, a.s)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Client != b.Client {
			return a.Client < b.Client
		}
		if a.Target != b.Target {
			return a.Target < b.Target
		}
		return a.Kind < b.Kind
	})
	return out
}
