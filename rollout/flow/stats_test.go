package flow

import (
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

func at(s float64) time.Time   { return t0.Add(time.Duration(s * float64(time.Second))) }
func atp(s float64) *time.Time { t := at(s); return &t }
func batch(s float64, ok, fail int, gapMs float64, lastOK float64) Event {
	e := Event{T: at(s), Client: "c", Target: "other", Kind: KindTCP, Ev: EvBatch, OK: ok, Fail: fail, MaxGapMs: gapMs}
	if lastOK >= 0 {
		e.LastOK = atp(lastOK)
	}
	return e
}

func TestSummarize(t *testing.T) {
	start := Event{T: at(0), Client: "c", Target: "other", Kind: KindTCP, Ev: EvStart}
	for _, c := range []struct {
		name     string
		events   []Event
		from, to float64
		want     Stats // Client/Target/Kind filled in
		gaps     int
	}{
		{
			name:   "steady flow: the batches' max gap",
			events: []Event{start, batch(1, 10, 0, 110, 0.95), batch(2, 10, 0, 130, 1.95), batch(3, 10, 0, 105, 2.95)},
			from:   1.5, to: 3,
			want: Stats{OK: 20, MaxGapMs: 130},
		},
		{
			name: "a reported gap that began before the window counts",
			events: []Event{start, batch(1, 10, 0, 100, 0.9),
				{T: at(4), Client: "c", Target: "other", Kind: KindTCP, Ev: EvGap, From: atp(0.9), MaxGapMs: 3100},
				batch(5, 8, 0, 3100, 4.9)},
			from: 3.5, to: 6,
			want: Stats{OK: 8, MaxGapMs: 500}, gaps: 1, // only its part inside the window
		},
		{
			name: "a reported gap inside the window counts whole",
			events: []Event{start, batch(1, 10, 0, 100, 0.9),
				{T: at(4), Client: "c", Target: "other", Kind: KindTCP, Ev: EvGap, From: atp(0.9), MaxGapMs: 3100},
				batch(5, 8, 0, 3100, 4.9)},
			from: 0.5, to: 6,
			want: Stats{OK: 18, MaxGapMs: 3100}, gaps: 1,
		},
		{
			name:   "a short gap in a batch is bounded by the window",
			events: []Event{start, batch(1, 10, 0, 100, 0.9), batch(2, 8, 0, 250, 1.9)},
			from:   1.9, to: 3,
			want: Stats{OK: 8, MaxGapMs: 100},
		},
		{
			name: "a gap entirely before the window does not",
			events: []Event{start,
				{T: at(2), Client: "c", Target: "other", Kind: KindTCP, Ev: EvGap, From: atp(0.5), MaxGapMs: 1500},
				batch(3, 10, 0, 1500, 2.9), batch(4, 10, 0, 100, 3.9)},
			from: 3.5, to: 6,
			want: Stats{OK: 10, MaxGapMs: 100},
		},
		{
			name: "resets and losses inside the window only",
			events: []Event{start,
				{T: at(1), Client: "c", Target: "other", Kind: KindTCP, Ev: EvReset, Conn: 1},
				{T: at(3), Client: "c", Target: "other", Kind: KindTCP, Ev: EvReset, Conn: 2},
				{T: at(4), Client: "c", Target: "other", Kind: KindTCP, Ev: EvLost, Conn: 3}},
			from: 2, to: 5,
			want: Stats{Resets: 1, Lost: 1},
		},
		{
			name:   "still down: an open gap up to the last batch",
			events: []Event{start, batch(1, 10, 0, 100, 0.9), batch(2, 0, 10, 0, 0.9), batch(3, 0, 10, 0, 0.9)},
			from:   1.5, to: 10,
			want: Stats{Fail: 20, MaxGapMs: 1500}, gaps: 1, // from the window's start to the last batch
		},
		{
			name:   "never answered: the open gap runs from the start",
			events: []Event{start, batch(1, 0, 10, 0, -1), batch(2, 0, 10, 0, -1)},
			from:   0, to: 10,
			want: Stats{Fail: 20, MaxGapMs: 2000}, gaps: 1,
		},
		{
			name:   "recovered: no open gap",
			events: []Event{start, batch(1, 0, 10, 0, -1), batch(2, 5, 5, 1600, 1.6)},
			from:   0, to: 10,
			want: Stats{OK: 5, Fail: 15, MaxGapMs: 1600},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := Summarize(c.events, at(c.from), at(c.to))
			if len(got) != 1 {
				t.Fatalf("%d flows, want 1: %+v", len(got), got)
			}
			g := got[0]
			if g.Client != "c" || g.Target != "other" || g.Kind != KindTCP {
				t.Errorf("key %s/%s/%s", g.Client, g.Target, g.Kind)
			}
			if g.OK != c.want.OK || g.Fail != c.want.Fail || g.Resets != c.want.Resets || g.Lost != c.want.Lost || g.MaxGapMs != c.want.MaxGapMs {
				t.Errorf("got ok=%d fail=%d resets=%d lost=%d maxgap=%v, want ok=%d fail=%d resets=%d lost=%d maxgap=%v",
					g.OK, g.Fail, g.Resets, g.Lost, g.MaxGapMs, c.want.OK, c.want.Fail, c.want.Resets, c.want.Lost, c.want.MaxGapMs)
			}
			if len(g.Gaps) != c.gaps {
				t.Errorf("%d gaps, want %d: %+v", len(g.Gaps), c.gaps, g.Gaps)
			}
		})
	}
}

func TestSummarizeSortsFlows(t *testing.T) {
	ev := func(client, target, kind string) Event {
		return Event{T: at(1), Client: client, Target: target, Kind: kind, Ev: EvBatch, OK: 1}
	}
	got := Summarize([]Event{ev("b", "x", KindUDP), ev("a", "y", KindTCP), ev("a", "x", KindUDP), ev("a", "x", KindTCP),
		{T: at(1), Client: "a", Ev: EvStart}}, at(0), at(2))
	var keys []string
	for _, s := range got {
		keys = append(keys, s.Client+"/"+s.Target+"/"+s.Kind)
	}
	if want := "a/x/tcp a/x/udp a/y/tcp b/x/udp"; strings.Join(keys, " ") != want {
		t.Errorf("flows %v, want %s", keys, want)
	}
}

func TestLossPct(t *testing.T) {
	for _, c := range []struct {
		ok, fail int
		want     float64
	}{{0, 0, 0}, {10, 0, 0}, {9, 1, 10}, {0, 3, 100}} {
		if got := (Stats{OK: c.ok, Fail: c.fail}).LossPct(); got != c.want {
			t.Errorf("ok=%d fail=%d: %v%%, want %v%%", c.ok, c.fail, got, c.want)
		}
	}
}

func TestParse(t *testing.T) {
	in := `{"t":"2026-12-06T12:00:00Z","ev":"start","client":"c"}
some runtime line
{"t":"2026-12-06T12:00:01Z","ev":"batch","client":"c","target":"x","kind":"tcp","ok":10}

{"t":"2026-12-06T12:00:02Z","ev":"bat`
	events, skipped, err := Parse(strings.NewReader(in))
	if err != nil || len(events) != 2 || skipped != 2 {
		t.Fatalf("Parse = %d events, %d skipped, %v; want 2, 2, nil", len(events), skipped, err)
	}
	if events[1].OK != 10 || events[1].Key() != (Key{"c", "x", KindTCP}) {
		t.Errorf("event %+v", events[1])
	}
}

func TestParseReach(t *testing.T) {
	for _, c := range []struct {
		in      string
		n       int
		wantErr bool
	}{
		{`{"target":"a","addr":"1.2.3.4:7000","proto":"tcp","ok":true,"tries":1,"ms":3}` + "\n" + `{"target":"b","addr":"x","proto":"udp","ok":false,"tries":9,"ms":15000,"err":"timeout"}`, 2, false},
		{"", 0, true},
		{"probe reach: no --tcp or --udp target", 0, true},
	} {
		got, err := ParseReach(c.in)
		if (err != nil) != c.wantErr || len(got) != c.n {
			t.Errorf("ParseReach(%q) = %d results, %v; want %d, error %v", c.in, len(got), err, c.n, c.wantErr)
		}
	}
}
