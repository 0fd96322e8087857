package main

import (
	"errors"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// lossyEcho echoes every datagram but each every-th one (0: none dropped).
func lossyEcho(t *testing.T, every int) string {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	go func() {
		buf := make([]byte, 65536)
		for i := 1; ; i++ {
			n, from, err := pc.ReadFrom(buf)
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if every > 0 && i%every == 0 {
				continue
			}
			_, _ = pc.WriteTo(buf[:n], from)
		}
	}()
	return pc.LocalAddr().String()
}

func TestBurst(t *testing.T) {
	for _, tc := range []struct {
		name  string
		every int // the echo drops every every-th datagram
		args  []string
		want  string
		err   string
	}{
		{"no loss", 0, []string{"-count", "20", "-interval", "2ms"}, "sent=20 received=20 loss_pct=0.00 p50_us=", ""},
		{"every 5th lost", 5, []string{"-count", "20", "-interval", "2ms"}, "sent=20 received=16 loss_pct=20.00 p50_us=", ""},
		{"every one lost: no percentiles", 1, []string{"-count", "5", "-interval", "2ms", "-wait", "100ms"}, "sent=5 received=0 loss_pct=100.00", ""},
		{"size too small for the sequence and nonce", 0, []string{"-size", "8"}, "", "size 8"},
		{"no count", 0, []string{"-count", "0"}, "", "count 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := burstProbe(append([]string{lossyEcho(t, tc.every)}, tc.args...))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("burst = %q, %v; want an error %q", out, err, tc.err)
				}
				return
			}
			if err != nil || !strings.HasPrefix(out, tc.want) {
				t.Errorf("burst = %q, %v; want %q...", out, err, tc.want)
			}
		})
	}
}

func TestBurstLine(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		name string
		sent int
		rtts []time.Duration
		want string
	}{
		{"all back", 4, []time.Duration{4 * ms, ms, 3 * ms, 2 * ms}, "sent=4 received=4 loss_pct=0.00 p50_us=2000 p99_us=4000"},
		{"one of four lost", 4, []time.Duration{ms, 2 * ms, 3 * ms}, "sent=4 received=3 loss_pct=25.00 p50_us=2000 p99_us=3000"},
		{"none back", 3, nil, "sent=3 received=0 loss_pct=100.00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := burstLine(tc.sent, tc.rtts); err != nil || got != tc.want {
				t.Errorf("burstLine = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestThroughput(t *testing.T) {
	srv := httptest.NewServer(httpMux())
	t.Cleanup(srv.Close)
	addr := strings.TrimPrefix(srv.URL, "http://")
	out, err := throughputProbe([]string{addr, "-duration", "300ms", "-warmup", "50ms"})
	if err != nil || !strings.Contains(out, " mbps=") || strings.Contains(out, "mbps=0.0") {
		t.Errorf("throughput = %q, %v; want a rate", out, err)
	}
	if _, err := throughputProbe([]string{addr, "-duration", "0s"}); err == nil {
		t.Error("throughput -duration 0s passed, want an error")
	}
	for _, tc := range []struct {
		bytes int64
		secs  float64
		want  float64
	}{{125_000_000, 1, 1000}, {125_000_000, 2, 500}, {1, 0, 0}} {
		if got := mbps(tc.bytes, tc.secs); got != tc.want {
			t.Errorf("mbps(%d, %v) = %v, want %v", tc.bytes, tc.secs, got, tc.want)
		}
	}
}

func TestFirstAnswer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	dir := t.TempDir()
	out := filepath.Join(dir, "msg")
	if err := firstAnswer([]string{ln.Addr().String(), "-out", out}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(out); !strings.HasPrefix(string(b), "answered_unix_ns=") {
		t.Errorf("first-answer wrote %q, want answered_unix_ns=...", b)
	}
	_ = ln.Close() // nobody answers now: no_answer, still exit 0
	if err := firstAnswer([]string{ln.Addr().String(), "-out", out, "-timeout", "100ms"}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(out); !strings.HasPrefix(string(b), "no_answer ") {
		t.Errorf("first-answer wrote %q, want no_answer ...", b)
	}
}
