package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/cnigate/cnigate/results"
)

// Data-path quality (the matrix's Quality rows): a burst of UDP echoes
// (loss, RTT percentiles), a TCP stream (throughput), and the first answer
// of a peer after the pod starts (pod network readiness).

// burstProbe sends -count datagrams, one every -interval, to a UDP echo
// server and matches each echo to its datagram by sequence number and a
// per-run nonce. UDP, not TCP: TCP retransmits a lost segment, turning loss
// into latency; a datagram that does not come back is a lost packet.
func burstProbe(args []string) (string, error) {
	fs := flag.NewFlagSet("burst", flag.ContinueOnError)
	count := fs.Int("count", 50, "datagrams to send")
	interval := fs.Duration("interval", 20*time.Millisecond, "time between two datagrams")
	size := fs.Int("size", 64, "UDP payload bytes (at least 16)")
	wait := fs.Duration("wait", time.Second, "how long to wait for echoes after the last datagram")
	addr, err := parse(fs, args)
	if err != nil {
		return "", err
	}
	if *count < 1 || *size < 16 || *interval <= 0 || *wait <= 0 {
		return "", fmt.Errorf("burst: count %d (>= 1), size %d (>= 16), interval %s and wait %s (> 0)", *count, *size, *interval, *wait)
	}
	conn, err := net.Dial("udp", addr)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	nonce := make([]byte, 8)
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	sent := make([]time.Time, *count)
	rtts := make([]time.Duration, *count) // 0: no echo (yet)
	var mu sync.Mutex
	done := make(chan struct{})
	go func() { // the receiver: until every echo is back or the deadline set after the last send
		defer close(done)
		buf := make([]byte, *size+1)
		for got := 0; got < *count; {
			n, err := conn.Read(buf)
			if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, net.ErrClosed) {
				return
			}
			if err != nil || n != *size || string(buf[8:16]) != string(nonce) {
				continue // an ICMP error, a stray or truncated datagram
			}
			seq := binary.BigEndian.Uint64(buf[:8])
			mu.Lock()
			if seq < uint64(*count) && rtts[seq] == 0 && !sent[seq].IsZero() {
				rtts[seq] = max(time.Since(sent[seq]), time.Nanosecond)
				got++
			}
			mu.Unlock()
		}
	}()
	msg := make([]byte, *size)
	copy(msg[8:16], nonce)
	tick := time.NewTicker(*interval)
	defer tick.Stop()
	for i := range *count {
		if i > 0 {
			<-tick.C
		}
		binary.BigEndian.PutUint64(msg[:8], uint64(i))
		mu.Lock()
		sent[i] = time.Now()
		mu.Unlock()
		_, _ = conn.Write(msg) // a refused send (ICMP unreachable) is a loss
	}
	_ = conn.SetReadDeadline(time.Now().Add(*wait))
	<-done
	var got []time.Duration
	for _, r := range rtts {
		if r > 0 {
			got = append(got, r)
		}
	}
	return burstLine(*count, got)
}

// burstLine is the burst's result line: loss and, when an echo came back,
// the RTT percentiles (microseconds).
func burstLine(sent int, rtts []time.Duration) (string, error) {
	loss, err := results.LossPct(sent, len(rtts))
	if err != nil {
		return "", err
	}
	out := fmt.Sprintf("sent=%d received=%d loss_pct=%.2f", sent, len(rtts), loss)
	if len(rtts) == 0 {
		return out, nil
	}
	p50, _ := results.Percentile(rtts, 50)
	p99, _ := results.Percentile(rtts, 99)
	return out + fmt.Sprintf(" p50_us=%d p99_us=%d", p50.Microseconds(), p99.Microseconds()), nil
}

// streamChunk is what /stream writes at a time.
const streamChunk = 64 << 10

// serveStream answers /stream?s=SECONDS with zeros for that long (at most
// 30 s), as fast as the connection takes them: the server side of
// throughputProbe.
func serveStream(w http.ResponseWriter, r *http.Request) {
	secs, err := strconv.ParseFloat(r.URL.Query().Get("s"), 64)
	if err != nil || secs <= 0 || secs > 30 {
		http.Error(w, "s: 0 to 30 seconds", http.StatusBadRequest)
		return
	}
	buf := make([]byte, streamChunk)
	end := time.Now().Add(time.Duration(secs * float64(time.Second)))
	for time.Now().Before(end) {
		if _, err := w.Write(buf); err != nil {
			return // the client is done
		}
	}
}

// throughputProbe reads http://ADDR/stream for -duration over one TCP
// connection and reports the rate of the bytes read after -warmup (TCP's
// slow start is not the path's throughput).
func throughputProbe(args []string) (string, error) {
	fs := flag.NewFlagSet("throughput", flag.ContinueOnError)
	duration := fs.Duration("duration", 2*time.Second, "how long to measure")
	warmup := fs.Duration("warmup", 200*time.Millisecond, "bytes read before this are not counted")
	addr, err := parse(fs, args)
	if err != nil {
		return "", err
	}
	if *duration <= 0 || *warmup < 0 {
		return "", fmt.Errorf("throughput: duration %s (> 0), warmup %s (>= 0)", *duration, *warmup)
	}
	total := *warmup + *duration
	ctx, cancel := context.WithTimeout(context.Background(), total+10*time.Second)
	defer cancel()
	url := fmt.Sprintf("http://%s/stream?s=%.3f", addr, (total + time.Second).Seconds())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: status %d", url, resp.StatusCode)
	}
	buf := make([]byte, streamChunk)
	start := time.Now()
	var counted int64
	var from time.Time
	for {
		n, err := resp.Body.Read(buf)
		now := time.Now()
		if now.Sub(start) >= *warmup {
			if from.IsZero() {
				from = now
			} else {
				counted += int64(n)
			}
		}
		if now.Sub(start) >= total {
			break
		}
		if err == io.EOF {
			return "", fmt.Errorf("stream ended after %s, want %s", now.Sub(start).Round(time.Millisecond), total)
		}
		if err != nil {
			return "", err
		}
	}
	secs := time.Since(from).Seconds()
	return fmt.Sprintf("bytes=%d seconds=%.3f mbps=%.1f", counted, secs, mbps(counted, secs)), nil
}

// mbps is bytes over secs in megabits per second (10^6 bits).
func mbps(bytes int64, secs float64) float64 {
	if secs <= 0 {
		return 0
	}
	return float64(bytes) * 8 / secs / 1e6
}

// firstAnswer dials ADDR (TCP) every -interval until it answers, then writes
// the wall-clock time of that answer ("answered_unix_ns=N") to -out (the
// container's termination message, so the harness reads it from the pod's
// status) and stdout. It runs as the matrix pods' init container: the time
// from the pod's creation to this answer is its network readiness. Giving up
// after -timeout still exits 0 ("no_answer ..."): a pod without network is
// the matrix's cells' verdict, not a pod stuck in Init.
func firstAnswer(args []string) error {
	fs := flag.NewFlagSet("first-answer", flag.ContinueOnError)
	interval := fs.Duration("interval", 20*time.Millisecond, "time between two attempts")
	timeout := fs.Duration("timeout", 30*time.Second, "give up after this long")
	out := fs.String("out", "/dev/termination-log", "file the result line is written to")
	addr, err := parse(fs, args)
	if err != nil {
		return err
	}
	start := time.Now()
	line := ""
	for attempt := 1; ; attempt++ {
		c, err := net.DialTimeout("tcp", addr, max(*interval*5, 100*time.Millisecond))
		if err == nil {
			_ = c.Close()
			line = fmt.Sprintf("answered_unix_ns=%d attempts=%d", time.Now().UnixNano(), attempt)
			break
		}
		if time.Since(start) > *timeout {
			line = fmt.Sprintf("no_answer after=%s attempts=%d last_error=%q", time.Since(start).Round(time.Millisecond), attempt, err.Error())
			break
		}
		time.Sleep(*interval)
	}
	fmt.Println(line)
	return os.WriteFile(*out, []byte(line), 0o644)
}
