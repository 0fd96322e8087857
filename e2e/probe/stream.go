package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cnigate/cnigate/rollout/flow"
)

// msgLen is the size of one echoed message: an 8-byte sequence number and
// 8 bytes of the send time (nanoseconds), so an echo is matched exactly.
const msgLen = 16

// streamServer: a TCP echo (each connection echoes until closed) and a UDP
// echo, until killed. The stream clients and `probe reach` talk to it.
func streamServer(args []string) error {
	fs := flag.NewFlagSet("stream-server", flag.ContinueOnError)
	tcpAddr := fs.String("tcp", ":7000", "TCP echo listen address")
	udpAddr := fs.String("udp", ":7001", "UDP echo listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	pc, err := net.ListenPacket("udp", *udpAddr)
	if err != nil {
		return err
	}
	go echo(pc)
	ln, err := net.Listen("tcp", *tcpAddr)
	if err != nil {
		return err
	}
	fmt.Printf("stream-server: tcp %s udp %s\n", *tcpAddr, *udpAddr)
	return echoTCP(ln)
}

// echoTCP echoes every accepted connection until it is closed.
func echoTCP(ln net.Listener) error {
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		go func() {
			defer c.Close()
			_, _ = io.Copy(c, c)
		}()
	}
}

// emitter writes events as JSON lines, one at a time.
type emitter struct {
	mu     sync.Mutex
	enc    *json.Encoder
	client string
}

func (em *emitter) emit(e flow.Event) {
	e.Client = em.client
	em.mu.Lock()
	defer em.mu.Unlock()
	_ = em.enc.Encode(e)
}

// meter counts one flow's exchanges between batches and measures its gaps
// (time between consecutive successes).
type meter struct {
	em                 *emitter
	target, addr, kind string
	reportGap          time.Duration
	mu                 sync.Mutex
	ok, fail           int
	maxGap             time.Duration
	lastOK             time.Time // zero: none yet
	since              time.Time // start of the current gap: last success, or the start
	firstErr           string
}

func newMeter(em *emitter, target, addr, kind string, reportGap time.Duration) *meter {
	m := &meter{em: em, target: target, addr: addr, kind: kind, reportGap: reportGap, since: time.Now()}
	m.em.emit(flow.Event{T: m.since, Target: target, Addr: addr, Kind: kind, Ev: flow.EvStart})
	return m
}

func (m *meter) success(t time.Time) {
	m.mu.Lock()
	gap := t.Sub(m.since)
	from := m.since
	m.ok++
	m.maxGap = max(m.maxGap, gap)
	m.lastOK, m.since = t, t
	m.mu.Unlock()
	if gap > m.reportGap {
		m.emit(flow.Event{T: t, Ev: flow.EvGap, From: &from, MaxGapMs: msOf(gap)})
	}
}

func (m *meter) failure(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fail++
	if m.firstErr == "" && err != nil {
		m.firstErr = err.Error()
	}
}

func (m *meter) emit(e flow.Event) {
	e.Target, e.Addr, e.Kind = m.target, m.addr, m.kind
	m.em.emit(e)
}

// flush writes the batch since the previous one.
func (m *meter) flush(t time.Time) {
	m.mu.Lock()
	e := flow.Event{T: t, Ev: flow.EvBatch, OK: m.ok, Fail: m.fail, MaxGapMs: msOf(m.maxGap), Err: m.firstErr}
	if !m.lastOK.IsZero() {
		last := m.lastOK
		e.LastOK = &last
	}
	m.ok, m.fail, m.maxGap, m.firstErr = 0, 0, 0, ""
	m.mu.Unlock()
	m.emit(e)
}

func msOf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// targetsFlag is a repeatable NAME=HOST flag.
type targetsFlag [][2]string

func (t *targetsFlag) String() string { return fmt.Sprint(*t) }
func (t *targetsFlag) Set(v string) error {
	name, host, ok := strings.Cut(v, "=")
	if !ok || name == "" || host == "" {
		return fmt.Errorf("target %q: want NAME=HOST", v)
	}
	*t = append(*t, [2]string{name, host})
	return nil
}

// streamClient keeps, per target, a long-lived TCP connection exchanging a
// message every interval, a UDP echo stream and a new-connection probe
// every connect interval, and writes flow events (rollout/flow) as JSON
// lines on stdout until SIGTERM or its duration.
func streamClient(args []string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	return runStreamClient(ctx, args, os.Stdout)
}

func runStreamClient(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("stream-client", flag.ContinueOnError)
	var targets targetsFlag
	fs.Var(&targets, "target", "NAME=HOST of a stream-server (repeatable)")
	name := fs.String("name", "", "this client's name in the events (default: the hostname)")
	tcpPort := fs.Int("tcp-port", 7000, "the servers' TCP echo port (0: no TCP stream, no connect probe)")
	udpPort := fs.Int("udp-port", 7001, "the servers' UDP echo port (0: no UDP stream)")
	interval := fs.Duration("interval", 100*time.Millisecond, "one message per interval on the TCP and UDP streams")
	connectInterval := fs.Duration("connect-interval", 200*time.Millisecond, "one new connection per interval (0: none)")
	timeout := fs.Duration("timeout", 5*time.Second, "no TCP echo within it: the connection is lost (then a new one)")
	connectTimeout := fs.Duration("connect-timeout", time.Second, "a new-connection probe not echoed within it failed")
	udpWait := fs.Duration("udp-wait", time.Second, "a datagram not echoed within it is lost")
	flush := fs.Duration("flush", time.Second, "one batch event per flow per flush interval")
	reportGap := fs.Duration("report-gap", 0, "report every gap longer than this as an event (0: 3 intervals of the flow)")
	duration := fs.Duration("duration", 0, "stop after it (0: until SIGTERM)")
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(targets) == 0 {
		return errors.New("stream-client: no --target")
	}
	if *interval <= 0 || *timeout <= 0 || *connectTimeout <= 0 || *udpWait <= 0 || *flush <= 0 {
		return errors.New("stream-client: --interval, --timeout, --connect-timeout, --udp-wait and --flush must be positive")
	}
	if *name == "" {
		*name, _ = os.Hostname()
	}
	if *duration > 0 {
		// A cancel, not a deadline: a dial cut by the context's deadline
		// could fail before ctx.Err() says so, a failure that is none.
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		time.AfterFunc(*duration, cancel)
	}
	em := &emitter{enc: json.NewEncoder(out), client: *name}
	em.emit(flow.Event{T: time.Now(), Ev: flow.EvStart})
	gapFor := func(d time.Duration) time.Duration {
		if *reportGap > 0 {
			return *reportGap
		}
		return 3 * d
	}
	var meters []*meter
	var wg sync.WaitGroup
	run := func(f func()) { wg.Add(1); go func() { defer wg.Done(); f() }() }
	for _, t := range targets {
		name, host := t[0], t[1]
		if *tcpPort > 0 {
			addr := net.JoinHostPort(host, strconv.Itoa(*tcpPort))
			m := newMeter(em, name, addr, flow.KindTCP, gapFor(*interval))
			meters = append(meters, m)
			run(func() { tcpStream(ctx, m, addr, *interval, *timeout) })
			if *connectInterval > 0 {
				c := newMeter(em, name, addr, flow.KindConnect, gapFor(*connectInterval))
				meters = append(meters, c)
				run(func() { connectProbe(ctx, c, addr, *connectInterval, *connectTimeout) })
			}
		}
		if *udpPort > 0 {
			addr := net.JoinHostPort(host, strconv.Itoa(*udpPort))
			m := newMeter(em, name, addr, flow.KindUDP, gapFor(*interval))
			meters = append(meters, m)
			run(func() { udpStream(ctx, m, addr, *interval, *udpWait) })
		}
	}
	tick := time.NewTicker(*flush)
	defer tick.Stop()
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case t := <-tick.C:
			for _, m := range meters {
				m.flush(t)
			}
		}
	}
	wg.Wait()
	now := time.Now()
	for _, m := range meters {
		m.flush(now)
	}
	em.emit(flow.Event{T: time.Now(), Ev: flow.EvStop})
	return nil
}

// classify names how an established connection failed: reset (the peer or
// a middlebox sent RST, or the socket broke), lost (no echo in time, or
// closed by the peer).
func classify(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNABORTED):
		return flow.EvReset
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.As(err, &ne) && ne.Timeout():
		return flow.EvLost
	}
	return flow.EvLost
}

func message(seq uint64, t time.Time) []byte {
	b := make([]byte, msgLen)
	binary.BigEndian.PutUint64(b, seq)
	binary.BigEndian.PutUint64(b[8:], uint64(t.UnixNano()))
	return b
}

// tcpStream: one connection at a time, a message per interval, each echo
// awaited up to timeout; a broken connection is reported and replaced.
func tcpStream(ctx context.Context, m *meter, addr string, interval, timeout time.Duration) {
	d := net.Dialer{Timeout: timeout}
	conn := 0
	tick := time.NewTicker(interval)
	defer tick.Stop()
	buf := make([]byte, msgLen)
	for ctx.Err() == nil {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			m.failure(fmt.Errorf("dial: %w", err))
			select {
			case <-ctx.Done():
			case <-tick.C:
			}
			continue
		}
		conn++
		m.emit(flow.Event{T: time.Now(), Ev: flow.EvConnected, Conn: conn})
		var seq uint64
		for ctx.Err() == nil {
			select {
			case <-ctx.Done():
				continue
			case <-tick.C:
			}
			seq++
			msg := message(seq, time.Now())
			_ = c.SetDeadline(time.Now().Add(timeout))
			if _, err = c.Write(msg); err == nil {
				_, err = io.ReadFull(c, buf)
			}
			if err == nil && string(buf) != string(msg) {
				err = fmt.Errorf("echo of message %d garbled", seq)
			}
			if err != nil {
				break
			}
			m.success(time.Now())
		}
		_ = c.Close()
		if ctx.Err() != nil {
			return
		}
		m.failure(err)
		m.emit(flow.Event{T: time.Now(), Ev: classify(err), Conn: conn, Err: err.Error()})
	}
}

// connectProbe: a new connection per interval: dial, one echo, close.
func connectProbe(ctx context.Context, m *meter, addr string, interval, timeout time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	buf := make([]byte, msgLen)
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		err := func() error {
			d := net.Dialer{Timeout: timeout}
			c, err := d.DialContext(ctx, "tcp", addr)
			if err != nil {
				return err
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(timeout))
			msg := message(0, time.Now())
			if _, err := c.Write(msg); err != nil {
				return err
			}
			_, err = io.ReadFull(c, buf)
			return err
		}()
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			m.failure(err)
			continue
		}
		m.success(time.Now())
	}
}

// udpStream: a datagram per interval on one socket; echoes are matched by
// sequence number; one not echoed within wait is lost.
func udpStream(ctx context.Context, m *meter, addr string, interval, wait time.Duration) {
	var c net.Conn
	for {
		var err error
		if c, err = net.Dial("udp", addr); err == nil {
			break
		}
		m.failure(err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
	defer c.Close()
	var mu sync.Mutex
	pending := map[uint64]time.Time{}
	go func() {
		buf := make([]byte, 2*msgLen)
		for {
			n, err := c.Read(buf)
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if err != nil { // ICMP unreachable surfaces here: the datagram's loss is counted by its deadline
				continue
			}
			if n != msgLen {
				continue
			}
			seq := binary.BigEndian.Uint64(buf)
			mu.Lock()
			_, ok := pending[seq]
			delete(pending, seq)
			mu.Unlock()
			if ok {
				m.success(time.Now())
			}
		}
	}()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var seq uint64
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			mu.Lock()
			for s, sent := range pending {
				if now.Sub(sent) > wait {
					delete(pending, s)
					m.failure(fmt.Errorf("no echo within %v", wait))
				}
			}
			seq++
			pending[seq] = now
			mu.Unlock()
			if _, err := c.Write(message(seq, now)); err != nil {
				m.failure(err)
			}
		}
	}
}

// reach: can this pod reach each server now? For each --tcp (connect and
// echo) and --udp (echo) target, retry until it answers or --timeout; one
// flow.ReachResult JSON line per target; exit status 1 when one failed.
func reach(args []string) error {
	fs := flag.NewFlagSet("reach", flag.ContinueOnError)
	var tcps, udps targetsFlag
	fs.Var(&tcps, "tcp", "NAME=HOST:PORT of a TCP echo (repeatable)")
	fs.Var(&udps, "udp", "NAME=HOST:PORT of a UDP echo (repeatable)")
	timeout := fs.Duration("timeout", 15*time.Second, "give a target up after it")
	try := fs.Duration("try", time.Second, "each attempt's deadline")
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(tcps)+len(udps) == 0 {
		return errors.New("reach: no --tcp or --udp target")
	}
	type job struct{ name, addr, proto string }
	var jobs []job
	for _, t := range tcps {
		jobs = append(jobs, job{t[0], t[1], "tcp"})
	}
	for _, t := range udps {
		jobs = append(jobs, job{t[0], t[1], "udp"})
	}
	results := make([]flow.ReachResult, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = reachOne(j.name, j.addr, j.proto, *timeout, *try)
		}()
	}
	wg.Wait()
	enc := json.NewEncoder(os.Stdout)
	failed := 0
	for _, r := range results {
		_ = enc.Encode(r)
		if !r.OK {
			failed++
		}
	}
	if failed > 0 {
		os.Exit(1)
	}
	return nil
}

func reachOne(name, addr, proto string, timeout, try time.Duration) flow.ReachResult {
	r := flow.ReachResult{Target: name, Addr: addr, Proto: proto}
	start := time.Now()
	buf := make([]byte, msgLen)
	for time.Since(start) < timeout {
		r.Tries++
		t0 := time.Now()
		err := func() error {
			c, err := net.DialTimeout(proto, addr, try)
			if err != nil {
				return err
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(try))
			msg := message(uint64(r.Tries), time.Now())
			if _, err := c.Write(msg); err != nil {
				return err
			}
			if _, err := io.ReadFull(c, buf); err != nil {
				return err
			}
			if string(buf) != string(msg) {
				return errors.New("echo garbled")
			}
			return nil
		}()
		if err == nil {
			r.OK, r.Err = true, ""
			r.Ms = msOf(time.Since(start))
			return r
		}
		r.Err = err.Error()
		time.Sleep(max(0, try-time.Since(t0))) // an instant refusal waits out its attempt
	}
	r.Ms = msOf(time.Since(start))
	return r
}
