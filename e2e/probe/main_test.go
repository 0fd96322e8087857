package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestUDPEcho(t *testing.T) {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	go echo(pc)
	addr := pc.LocalAddr().String()
	for _, c := range []struct {
		args []string
		ok   string // substring of the success line, "" when it must fail
	}{
		{[]string{addr, "-size", "1472", "-df"}, "packet=1500 df=true"},
		{[]string{addr, "-size", "64"}, "packet=92 df=false"},
		// above IPv4's largest datagram: refused, reported as a failure
		{[]string{addr, "-size", "65508", "-df"}, ""},
	} {
		out, err := udpProbe(c.args)
		if c.ok == "" {
			if err == nil {
				t.Errorf("udp %v: passed (%s), want a failure", c.args, out)
			}
			continue
		}
		if err != nil || !strings.Contains(out, c.ok) {
			t.Errorf("udp %v = %q, %v; want %q", c.args, out, err, c.ok)
		}
	}
	// nobody listens: no echo
	dead, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.LocalAddr().String()
	_ = dead.Close()
	if out, err := udpProbe([]string{deadAddr, "-tries", "1", "-wait", "100ms"}); err == nil {
		t.Errorf("udp to a closed port passed: %s", out)
	}
}

func TestHTTPBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(serveBytes))
	t.Cleanup(srv.Close)
	if out, err := httpProbe([]string{srv.URL + "/bytes?n=1048576", "-bytes", "1048576"}); err != nil || !strings.Contains(out, "bytes=1048576") {
		t.Errorf("intact body: %q %v", out, err)
	}
	if _, err := httpProbe([]string{srv.URL + "/bytes?n=1048575", "-bytes", "1048576"}); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Errorf("short body: %v", err)
	}
	flip := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		b := pattern(4096)
		b[1000] ^= 1
		_, _ = w.Write(b)
	}))
	t.Cleanup(flip.Close)
	if _, err := httpProbe([]string{flip.URL, "-bytes", "4096"}); err == nil {
		t.Error("one flipped bit: no error")
	}
}
