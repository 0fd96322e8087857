package main

import (
	"encoding/binary"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// freeUDPPort is a port nobody listens on a moment ago.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	return pc.LocalAddr().(*net.UDPAddr).Port
}

// TestStickyFollowsTheServerOnItsPort: the client keeps its source port and
// keeps sending; the server "old" answers, goes away (the client then gets
// ICMP port unreachable and carries on), "new" takes its port, and the
// client ends once "new" answered, having reported each change.
func TestStickyFollowsTheServerOnItsPort(t *testing.T) {
	port := freeUDPPort(t)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	old, err := net.ListenPacket("udp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	go nameServe(old, "old")
	var mu sync.Mutex
	var events []string
	sawOld := make(chan struct{})
	go func() {
		<-sawOld
		_ = old.Close()
		time.Sleep(300 * time.Millisecond) // the client's datagrams meet a closed port meanwhile
		nw, err := net.ListenPacket("udp4", addr)
		if err != nil {
			t.Error(err)
			return
		}
		t.Cleanup(func() { _ = nw.Close() })
		go nameServe(nw, "new")
	}()
	sport := freeUDPPort(t)
	out, err := stickyRun(addr, sport, 20*time.Millisecond, 5*time.Second, "new", func(e string) {
		mu.Lock()
		defer mu.Unlock()
		if len(events) == 0 {
			close(sawOld)
		}
		events = append(events, e)
	})
	if err != nil {
		t.Fatalf("stickyRun: %v", err)
	}
	if !strings.Contains(out, "until=new") || !strings.Contains(out, "sport="+strconv.Itoa(sport)) {
		t.Errorf("ok line %q", out)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(events) != 2 || !strings.HasPrefix(events[0], "answer old at_ms=") || !strings.HasPrefix(events[1], "answer new at_ms=") {
		t.Errorf("events %q, want old then new", events)
	}
}

// TestStickyFailsNamingTheLastAnswer: the awaited server never answers; the
// failure names who answered last.
func TestStickyFailsNamingTheLastAnswer(t *testing.T) {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	go nameServe(pc, "old")
	_, err = stickyRun(pc.LocalAddr().String(), freeUDPPort(t), 20*time.Millisecond, 300*time.Millisecond, "new", func(string) {})
	if err == nil || !strings.Contains(err.Error(), "new never answered") || !strings.Contains(err.Error(), "the last to answer was old") {
		t.Errorf("err %v, want new never answered, old the last", err)
	}
	_, err = stickyRun(net.JoinHostPort("127.0.0.1", strconv.Itoa(freeUDPPort(t))), freeUDPPort(t), 20*time.Millisecond, 200*time.Millisecond, "new", func(string) {})
	if err == nil || !strings.Contains(err.Error(), "no answer") {
		t.Errorf("nobody there: err %v", err)
	}
}

func TestStickyArguments(t *testing.T) {
	for _, args := range [][]string{
		{"127.0.0.1:9", "-until", "b"},                    // no source port
		{"127.0.0.1:9", "-sport", "70000", "-until", "b"}, // not a port
		{"127.0.0.1:9", "-sport", "4000"},                 // no -until
		{"-sport", "4000", "-until", "b"},                 // no address
	} {
		if err := udpSticky(args); err == nil {
			t.Errorf("udp-sticky %v: no error", args)
		}
	}
}

// TestDNSOverTCP: with -transport tcp every query goes over TCP (the server
// here only speaks TCP); an unknown transport is refused.
func TestDNSOverTCP(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go serveTCPDNS(t, ln, [4]byte{10, 96, 0, 7})
	out, err := dnsProbe([]string{"web.ns.svc.cluster.local.", "-transport", "tcp", "-server", ln.Addr().String(), "-timeout", "2s"})
	if err != nil || out != "addrs=10.96.0.7 transport=tcp" {
		t.Errorf("dns over tcp = %q, %v", out, err)
	}
	// the same server over UDP: nobody answers there
	if out, err := dnsProbe([]string{"web.ns.svc.cluster.local.", "-transport", "udp", "-server", ln.Addr().String(), "-timeout", "500ms"}); err == nil {
		t.Errorf("dns over udp to a TCP-only server passed: %q", out)
	}
	if _, err := dnsProbe([]string{"x.", "-transport", "quic"}); err == nil || !strings.Contains(err.Error(), `-transport "quic"`) {
		t.Errorf("unknown transport: %v", err)
	}
}

// serveTCPDNS answers each A query on ln with a (AAAA: no answers), DNS over
// TCP framing (a 2-byte length before each message).
func serveTCPDNS(t *testing.T, ln net.Listener, a [4]byte) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			for {
				var n uint16
				if err := binary.Read(c, binary.BigEndian, &n); err != nil {
					return
				}
				msg := make([]byte, n)
				if _, err := io.ReadFull(c, msg); err != nil {
					return
				}
				var p dnsmessage.Parser
				h, err := p.Start(msg)
				if err != nil {
					return
				}
				q, err := p.Question()
				if err != nil {
					return
				}
				b := dnsmessage.NewBuilder(make([]byte, 2, 514), dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true})
				b.EnableCompression()
				_ = b.StartQuestions()
				_ = b.Question(q)
				_ = b.StartAnswers()
				if q.Type == dnsmessage.TypeA {
					_ = b.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 5}, dnsmessage.AResource{A: a})
				}
				resp, err := b.Finish()
				if err != nil {
					t.Error(err)
					return
				}
				binary.BigEndian.PutUint16(resp, uint16(len(resp)-2))
				if _, err := c.Write(resp); err != nil {
					return
				}
			}
		}()
	}
}
