package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

// The replaced-UDP-backend cell (e2e/matrix): a UDP server that answers with
// its name, and a client that keeps one source port and keeps sending, so
// that a stale conntrack entry to a deleted backend would keep it from ever
// reaching the new one (upstream test/e2e/network/conntrack.go).

// udpNameServer answers every datagram with "name=<its name>" (the host
// name: a pod's is its pod name), until killed.
func udpNameServer(args []string) error {
	fs := flag.NewFlagSet("udp-name", flag.ContinueOnError)
	addr := fs.String("udp", ":9000", "UDP listen address")
	name := fs.String("name", "", "the name to answer with (default: the host name)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *name == "" {
		h, err := os.Hostname()
		if err != nil {
			return err
		}
		*name = h
	}
	pc, err := net.ListenPacket("udp", *addr)
	if err != nil {
		return err
	}
	nameServe(pc, *name)
	return nil
}

// nameServe answers each datagram on pc with "name=<name>" until pc is closed.
func nameServe(pc net.PacketConn, name string) {
	buf := make([]byte, 2048)
	reply := []byte("name=" + name)
	for {
		_, from, err := pc.ReadFrom(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			continue
		}
		_, _ = pc.WriteTo(reply, from) // a lost answer is the client's verdict
	}
}

// udpSticky sends a datagram every -interval from the fixed source port
// -sport to ADDR and prints "answer <name> at_ms=<since start>" each time the
// name of the server that answers changes (the first answer included). It
// ends "ok ..." once -until answered, "fail ..." at -timeout. ICMP errors
// (a Service without endpoints rejects) do not stop it: the socket stays.
func udpSticky(args []string) error {
	fs := flag.NewFlagSet("udp-sticky", flag.ContinueOnError)
	sport := fs.Int("sport", 0, "source port (required: the point is to keep it)")
	interval := fs.Duration("interval", 100*time.Millisecond, "time between datagrams")
	timeout := fs.Duration("timeout", 60*time.Second, "give up after this long")
	until := fs.String("until", "", "stop once the server of this name answered (required)")
	addr, err := parse(fs, args)
	if err != nil {
		return err
	}
	switch {
	case *sport <= 0 || *sport > 65535:
		return fmt.Errorf("-sport %d: want a port 1-65535", *sport)
	case *until == "":
		return errors.New("-until: the name of the server to wait for is required")
	case *interval <= 0:
		return fmt.Errorf("-interval %s: want > 0", *interval)
	}
	out, err := stickyRun(addr, *sport, *interval, *timeout, *until, func(line string) { fmt.Println(line) })
	if err != nil {
		fmt.Println("fail", err)
		os.Exit(1)
	}
	fmt.Println("ok", out)
	return nil
}

// stickyRun is udpSticky's loop; each change of the answering server is
// given to event as an "answer" line.
func stickyRun(addr string, sport int, interval, timeout time.Duration, until string, event func(string)) (string, error) {
	raddr, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return "", err
	}
	network, local := "udp4", &net.UDPAddr{IP: net.IPv4zero, Port: sport}
	if raddr.IP.To4() == nil {
		network, local = "udp6", &net.UDPAddr{IP: net.IPv6unspecified, Port: sport}
	}
	// connected: the kernel keeps one 5-tuple, as a long-lived client does
	conn, err := net.DialUDP(network, local, raddr)
	if err != nil {
		return "", fmt.Errorf("source port %d: %w", sport, err)
	}
	defer conn.Close()
	start := time.Now()
	answers := make(chan string, 64)
	go func() {
		buf := make([]byte, 2048)
		for {
			n, err := conn.Read(buf)
			if errors.Is(err, net.ErrClosed) {
				close(answers)
				return
			}
			if err != nil { // ECONNREFUSED from an ICMP error: keep listening
				continue
			}
			if name, ok := strings.CutPrefix(string(buf[:n]), "name="); ok {
				select {
				case answers <- name:
				default: // the loop is gone or far behind: an answer more changes nothing
				}
			}
		}
	}()
	var sent, answered int
	var last string
	var lastAt time.Duration
	send := func() {
		if _, err := conn.Write([]byte("who")); err == nil {
			sent++
		}
	}
	send()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	end := time.NewTimer(timeout)
	defer end.Stop()
	for {
		select {
		case name := <-answers:
			answered++
			if name != last {
				last, lastAt = name, time.Since(start)
				event(fmt.Sprintf("answer %s at_ms=%d", name, lastAt.Milliseconds()))
			}
			if name == until {
				return fmt.Sprintf("until=%s at_ms=%d sent=%d answered=%d sport=%d", until, lastAt.Milliseconds(), sent, answered, sport), nil
			}
		case <-tick.C:
			send()
		case <-end.C:
			if last == "" {
				return "", fmt.Errorf("no answer in %s from source port %d (%d sent)", timeout, sport, sent)
			}
			return "", fmt.Errorf("%s never answered in %s: the last to answer was %s (answering since %d ms), %d sent, %d answered, from source port %d",
				until, timeout, last, lastAt.Milliseconds(), sent, answered, sport)
		}
	}
}

// resolver is Go's resolver (resolv.conf's search path and ndots), its
// queries over transport when one is given: Go's resolver frames a query
// for a stream when its Dial returns a connection that is not a
// PacketConn, so dialling TCP puts every query on TCP (DNS over TCP, RFC
// 7766), not only the truncated ones.
func resolver(transport, server string) (*net.Resolver, error) {
	switch transport {
	case "", "tcp", "udp":
	default:
		return nil, fmt.Errorf("-transport %q: want tcp or udp", transport)
	}
	r := &net.Resolver{PreferGo: true}
	if transport == "" && server == "" {
		return r, nil
	}
	r.Dial = func(ctx context.Context, network, address string) (net.Conn, error) {
		if transport != "" {
			network = transport
		}
		if server != "" {
			address = server
		}
		var d net.Dialer
		return d.DialContext(ctx, network, address)
	}
	return r, nil
}
