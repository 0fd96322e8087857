// Package flow is the schema of the live-traffic events the test image's
// probe (`probe stream-client`, `probe reach`) writes as JSON lines on its
// stdout, and the pure arithmetic the rollout gate does on them: the longest
// gap of a flow inside a time window, resets, lost connections, UDP loss.
//
// It is a leaf package (standard library only) because the static probe
// binary in the test image imports it: one copy of the schema for the writer
// and the reader.
package flow

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// Kinds of flow a stream client keeps per target.
const (
	KindTCP     = "tcp"     // one long-lived TCP connection, a message echoed every interval
	KindUDP     = "udp"     // a UDP echo stream, a datagram every interval
	KindConnect = "connect" // a new TCP connection (dial, echo, close) every connect interval
)

// Event names (Event.Ev).
const (
	// EvStart: the flow started (T is its start: the first gap counts from it).
	EvStart = "start"
	// EvBatch: counters since the previous batch of the flow: OK successes,
	// Fail failures, MaxGapMs the longest gap ended by one of these
	// successes, LastOK the last success so far (nil: none yet).
	EvBatch = "batch"
	// EvGap: a gap longer than the client's report threshold ended at T: no
	// success between From and T.
	EvGap = "gap"
	// EvConnected: the long-lived TCP connection Conn is up (1 = the first).
	EvConnected = "connected"
	// EvReset: connection Conn was reset (ECONNRESET, EPIPE): an established
	// connection died.
	EvReset = "reset"
	// EvLost: connection Conn is given up: no echo within the client's
	// timeout, or the peer closed it.
	EvLost = "lost"
	// EvStop: the client stopped (SIGTERM or its duration); a final batch
	// of every flow precedes it.
	EvStop = "stop"
)

// Event is one JSON line of `probe stream-client`.
type Event struct {
	T      time.Time `json:"t"`
	Client string    `json:"client,omitempty"` // the client's name (--name), e.g. its pod
	Target string    `json:"target,omitempty"` // the target's name (--target NAME=HOST)
	Addr   string    `json:"addr,omitempty"`
	Kind   string    `json:"kind,omitempty"`
	Ev     string    `json:"ev"`
	Conn   int       `json:"conn,omitempty"`
	OK     int       `json:"ok,omitempty"`
	Fail   int       `json:"fail,omitempty"`
	// MaxGapMs: batch: the longest gap ended in the batch; gap: the gap.
	MaxGapMs float64    `json:"max_gap_ms,omitempty"`
	LastOK   *time.Time `json:"last_ok,omitempty"`
	From     *time.Time `json:"from,omitempty"`
	Err      string     `json:"err,omitempty"`
}

// Key names one flow: client, target and kind.
type Key struct{ Client, Target, Kind string }

func (k Key) String() string { return k.Client + "→" + k.Target + "/" + k.Kind }

// Key of the event's flow.
func (e Event) Key() Key { return Key{e.Client, e.Target, e.Kind} }

// Parse reads JSON lines; lines that are not events (a log line from the
// runtime, a truncated last line) are counted in skipped, not fatal: the
// gate reads logs of running pods.
func Parse(r io.Reader) (events []Event, skipped int, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var e Event
		if json.Unmarshal([]byte(line), &e) != nil || e.Ev == "" || e.T.IsZero() {
			skipped++
			continue
		}
		events = append(events, e)
	}
	return events, skipped, sc.Err()
}

// ReachResult is one JSON line of `probe reach`: can this pod reach Addr
// over Proto (tcp: connect and echo; udp: echo)?
type ReachResult struct {
	Target string  `json:"target"`
	Addr   string  `json:"addr"`
	Proto  string  `json:"proto"`
	OK     bool    `json:"ok"`
	Tries  int     `json:"tries"`
	Ms     float64 `json:"ms"` // the first success, from the start
	Err    string  `json:"err,omitempty"`
}

// ParseReach reads `probe reach` output. A line that is not a result is an
// error: the pod ran nothing else.
func ParseReach(out string) ([]ReachResult, error) {
	var res []ReachResult
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		var r ReachResult
		if err := json.Unmarshal([]byte(line), &r); err != nil || r.Proto == "" {
			return nil, fmt.Errorf("not probe reach output: %q", line)
		}
		res = append(res, r)
	}
	if len(res) == 0 {
		return nil, fmt.Errorf("no probe reach output")
	}
	return res, nil
}
