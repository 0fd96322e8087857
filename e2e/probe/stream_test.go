package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/cnigate/cnigate/rollout/flow"
)

// listen starts a TCP echo (or, with rst, a server that answers once and
// then resets the connection) and a UDP echo on loopback.
func listen(t *testing.T, rst bool) (tcpPort, udpPort int) {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close(); _ = pc.Close() })
	go echo(pc)
	if !rst {
		go func() { _ = echoTCP(ln) }()
	} else {
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				buf := make([]byte, msgLen)
				if _, err := c.Read(buf); err == nil {
					_, _ = c.Write(buf)
				}
				_ = c.(*net.TCPConn).SetLinger(0) // close sends RST
				_ = c.Close()
			}
		}()
	}
	return ln.Addr().(*net.TCPAddr).Port, pc.LocalAddr().(*net.UDPAddr).Port
}

func TestStreamClient(t *testing.T) {
	for _, c := range []struct {
		name       string
		rst        bool
		wantResets bool
	}{
		{"healthy", false, false},
		{"server resets", true, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			tp, up := listen(t, c.rst)
			var out bytes.Buffer
			args := []string{"-target", "a=127.0.0.1", "-tcp-port", strconv.Itoa(tp), "-udp-port", strconv.Itoa(up),
				"-interval", "20ms", "-connect-interval", "40ms", "-connect-timeout", "5s", "-udp-wait", "5s", "-flush", "200ms", "-duration", "1s", "-name", "c"}
			start := time.Now()
			if err := runStreamClient(context.Background(), args, &out); err != nil {
				t.Fatal(err)
			}
			events, skipped, err := flow.Parse(&out)
			if err != nil || skipped > 0 {
				t.Fatalf("parse: %v, %d lines skipped", err, skipped)
			}
			stats := flow.Summarize(events, start, time.Now())
			if len(stats) != 3 {
				t.Fatalf("%d flows, want tcp, udp, connect: %+v", len(stats), stats)
			}
			for _, s := range stats {
				if s.OK == 0 {
					t.Errorf("%s: no success: %+v", s.Kind, s)
				}
				if s.Kind == flow.KindTCP && (s.Resets > 0) != c.wantResets {
					t.Errorf("tcp: %d resets, want some: %v", s.Resets, c.wantResets)
				}
				// (the resetting server may discard a connect probe's echo too)
				if !c.rst && s.Fail > 0 {
					t.Errorf("%s: %d failures: %+v", s.Kind, s.Fail, events)
				}
			}
			if last := events[len(events)-1]; last.Ev != flow.EvStop {
				t.Errorf("last event %q, want stop", last.Ev)
			}
		})
	}
}

func TestReachOne(t *testing.T) {
	tp, up := listen(t, false)
	for _, c := range []struct {
		addr, proto string
		ok          bool
	}{
		{"127.0.0.1:" + strconv.Itoa(tp), "tcp", true},
		{"127.0.0.1:" + strconv.Itoa(up), "udp", true},
		{"127.0.0.1:1", "tcp", false},
	} {
		r := reachOne("x", c.addr, c.proto, 300*time.Millisecond, 100*time.Millisecond)
		if r.OK != c.ok {
			t.Errorf("reach %s %s = %+v, want ok=%v", c.proto, c.addr, r, c.ok)
		}
	}
}

// A server that stalls once: the stall is one gap event of about its length.
func TestStreamClientGap(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	const stall = 600 * time.Millisecond
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, msgLen)
		for i := 0; ; i++ {
			if _, err := io.ReadFull(c, buf); err != nil {
				return
			}
			if i == 5 {
				time.Sleep(stall)
			}
			if _, err := c.Write(buf); err != nil {
				return
			}
		}
	}()
	var out bytes.Buffer
	args := []string{"-target", "a=127.0.0.1", "-tcp-port", strconv.Itoa(ln.Addr().(*net.TCPAddr).Port), "-udp-port", "0",
		"-connect-interval", "0", "-interval", "20ms", "-flush", "200ms", "-duration", "1500ms", "-name", "c"}
	if err := runStreamClient(context.Background(), args, &out); err != nil {
		t.Fatal(err)
	}
	events, _, _ := flow.Parse(&out)
	var gaps []float64
	for _, e := range events {
		if e.Ev == flow.EvGap {
			gaps = append(gaps, e.MaxGapMs)
		}
	}
	if len(gaps) == 0 || gaps[0] < 550 || gaps[0] > 2000 {
		t.Errorf("gap events %v, want one of about %v", gaps, stall)
	}
	s := flow.Summarize(events, time.Time{}, time.Now())
	if len(s) != 1 || s[0].Resets+s[0].Lost != 0 || s[0].MaxGapMs < 550 {
		t.Errorf("stats %+v: want one tcp flow, no reset, a gap of about %v", s, stall)
	}
}
