package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: probe serve|udp|http|dns|https|stream-server|stream-client|reach ... (see doc.go)")
		os.Exit(2)
	}
	cmd, args := os.Args[1], os.Args[2:]
	// Long-running modes and those with their own output (rollout gate: stream.go).
	servers := map[string]func([]string) error{"serve": serve, "stream-server": streamServer, "stream-client": streamClient, "reach": reach, "first-answer": firstAnswer}
	servers["udp-name"], servers["udp-sticky"] = udpNameServer, udpSticky // sticky.go
	if f, ok := servers[cmd]; ok {
		if err := f(args); err != nil {
			fmt.Fprintf(os.Stderr, "probe %s: %v\n", cmd, err)
			os.Exit(1)
		}
		return
	}
	clients := map[string]func([]string) (string, error){"udp": udpProbe, "http": httpProbe, "dns": dnsProbe, "https": httpsProbe, "burst": burstProbe, "throughput": throughputProbe}
	f, ok := clients[cmd]
	if !ok {
		fmt.Fprintf(os.Stderr, "probe: unknown command %q\n", cmd)
		os.Exit(2)
	}
	out, err := f(args)
	if err != nil {
		fmt.Println("fail", err)
		os.Exit(1)
	}
	fmt.Println("ok", out)
}

// parse parses flags that may follow the one positional argument.
func parse(fs *flag.FlagSet, args []string) (string, error) {
	fs.SetOutput(io.Discard)
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return "", fmt.Errorf("%s: missing argument", fs.Name())
	}
	return args[0], fs.Parse(args[1:])
}

// pattern is the body of /bytes?n=N: byte i is i mod 251 (a prime, so no
// power-of-two chunk repeats at the same offset).
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}

func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	httpAddr := fs.String("http", ":9080", "HTTP listen address")
	udpAddr := fs.String("udp", ":9000", "UDP echo listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	pc, err := net.ListenPacket("udp", *udpAddr)
	if err != nil {
		return err
	}
	go echo(pc)
	srv := &http.Server{Addr: *httpAddr, Handler: httpMux(), ReadHeaderTimeout: 10 * time.Second}
	return srv.ListenAndServe()
}

// httpMux serves /bytes and /stream (quality.go).
func httpMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/bytes", serveBytes)
	mux.HandleFunc("/stream", serveStream)
	return mux
}

// echo sends every datagram back to its sender until pc is closed.
func echo(pc net.PacketConn) {
	buf := make([]byte, 65536)
	for {
		n, from, err := pc.ReadFrom(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			continue
		}
		_, _ = pc.WriteTo(buf[:n], from) // a lost echo is the client's verdict
	}
}

// serveBytes answers /bytes?n=N with N bytes of pattern.
func serveBytes(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.URL.Query().Get("n"))
	if err != nil || n < 0 || n > 64<<20 {
		http.Error(w, "n: 0 to 64 MiB", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(n))
	_, _ = w.Write(pattern(n))
}

// udpProbe sends one datagram (retrying up to -tries times) and waits for the
// identical echo. With -df the socket sets Don't-Fragment (IP_PMTUDISC_DO): a
// datagram larger than the path MTU is refused, never fragmented.
func udpProbe(args []string) (string, error) {
	fs := flag.NewFlagSet("udp", flag.ContinueOnError)
	size := fs.Int("size", 64, "UDP payload bytes (the IP packet is 28 more, 48 over IPv6)")
	df := fs.Bool("df", false, "set Don't-Fragment")
	tries := fs.Int("tries", 3, "datagrams to send before giving up")
	wait := fs.Duration("wait", time.Second, "how long to wait for each echo")
	addr, err := parse(fs, args)
	if err != nil {
		return "", err
	}
	// The family follows the address: IPv4 (28 header bytes, IP_MTU_DISCOVER)
	// or IPv6 (48, IPV6_MTU_DISCOVER).
	network, hdr, level, opt, do := "udp4", 28, syscall.IPPROTO_IP, syscall.IP_MTU_DISCOVER, syscall.IP_PMTUDISC_DO
	if host, _, err := net.SplitHostPort(addr); err == nil && strings.Contains(host, ":") {
		network, hdr, level, opt, do = "udp6", 48, syscall.IPPROTO_IPV6, syscall.IPV6_MTU_DISCOVER, syscall.IPV6_PMTUDISC_DO
	}
	d := net.Dialer{}
	if *df {
		d.Control = func(_, _ string, c syscall.RawConn) error {
			var serr error
			if err := c.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), level, opt, do)
			}); err != nil {
				return err
			}
			return serr
		}
	}
	conn, err := d.Dial(network, addr)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	payload := make([]byte, *size)
	if _, err := rand.Read(payload); err != nil {
		return "", err
	}
	buf := make([]byte, *size+1)
	for i := 1; i <= *tries; i++ {
		start := time.Now()
		if _, err := conn.Write(payload); err != nil {
			if errors.Is(err, syscall.EMSGSIZE) {
				return "", fmt.Errorf("packet of %d bytes refused by the sender's kernel: larger than the path MTU %s (EMSGSIZE)", *size+hdr, pathMTU(conn, level))
			}
			return "", fmt.Errorf("send: %w", err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(*wait))
		for {
			n, err := conn.Read(buf)
			if err != nil {
				if errors.Is(err, syscall.EMSGSIZE) {
					return "", fmt.Errorf("packet of %d bytes: the path MTU is smaller (%s, ICMP fragmentation needed)", *size+hdr, pathMTU(conn, level))
				}
				break // timeout or ICMP error: next try
			}
			if n == *size && bytes.Equal(buf[:n], payload) {
				return fmt.Sprintf("packet=%d df=%v try=%d rtt_us=%d", *size+hdr, *df, i, time.Since(start).Microseconds()), nil
			}
		}
	}
	return "", fmt.Errorf("no echo of a %d-byte packet (df=%v) in %d tries of %s", *size+hdr, *df, *tries, *wait)
}

func pathMTU(c net.Conn, level int) string {
	rc, err := c.(*net.UDPConn).SyscallConn()
	if err != nil {
		return "unknown"
	}
	mtu := -1
	opt := syscall.IP_MTU
	if level == syscall.IPPROTO_IPV6 {
		opt = syscall.IPV6_MTU
	}
	_ = rc.Control(func(fd uintptr) { mtu, _ = syscall.GetsockoptInt(int(fd), level, opt) })
	if mtu < 0 {
		return "unknown"
	}
	return strconv.Itoa(mtu)
}

func httpProbe(args []string) (string, error) {
	fs := flag.NewFlagSet("http", flag.ContinueOnError)
	want := fs.Int("bytes", -1, "the body must be this many bytes of the /bytes pattern")
	timeout := fs.Duration("timeout", 20*time.Second, "whole request")
	url, err := parse(fs, args)
	if err != nil {
		return "", err
	}
	client := &http.Client{Timeout: *timeout}
	start := time.Now()
	resp, err := client.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", fmt.Errorf("status %d, body cut after %d bytes: %w", resp.StatusCode, len(body), err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %d", resp.StatusCode)
	}
	got := sha256.Sum256(body)
	out := fmt.Sprintf("bytes=%d sha256=%x elapsed_us=%d", len(body), got[:8], time.Since(start).Microseconds())
	if *want >= 0 {
		exp := sha256.Sum256(pattern(*want))
		if len(body) != *want || got != exp {
			return "", fmt.Errorf("body corrupt: %d bytes sha256 %x, want %d bytes sha256 %x", len(body), got[:8], *want, exp[:8])
		}
	}
	return out, nil
}

// dnsProbe resolves with Go's own resolver, which reads /etc/resolv.conf
// (nameserver, search, ndots) as libc would.
func dnsProbe(args []string) (string, error) {
	fs := flag.NewFlagSet("dns", flag.ContinueOnError)
	timeout := fs.Duration("timeout", 5*time.Second, "lookup timeout")
	transport := fs.String("transport", "", "tcp or udp: every query over it (default: the resolver's own, UDP falling back to TCP on truncation)")
	server := fs.String("server", "", "ask this ip:port instead of resolv.conf's nameserver (search and ndots still apply)")
	name, err := parse(fs, args)
	if err != nil {
		return "", err
	}
	r, err := resolver(*transport, *server)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	addrs, err := r.LookupHost(ctx, name)
	if err != nil {
		return "", err
	}
	out := "addrs=" + strings.Join(addrs, ",")
	if *transport != "" {
		out += " transport=" + *transport
	}
	return out, nil
}

// httpsProbe: any HTTP answer counts, over TLS verified against -ca when that
// file exists (a pod's service-account CA), else unverified (said so).
func httpsProbe(args []string) (string, error) {
	fs := flag.NewFlagSet("https", flag.ContinueOnError)
	ca := fs.String("ca", "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt", "CA bundle")
	connect := fs.String("connect", "", "dial this ip:port instead of resolving the URL's host (which TLS still verifies)")
	timeout := fs.Duration("timeout", 5*time.Second, "whole request")
	url, err := parse(fs, args)
	if err != nil {
		return "", err
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	verified := false
	if pem, err := os.ReadFile(*ca); err == nil {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return "", fmt.Errorf("%s: no certificate", *ca)
		}
		tc.RootCAs, verified = pool, true
	} else {
		tc.InsecureSkipVerify = true //nolint:gosec // no CA to verify with; reachability is what is probed, and the output says unverified
	}
	tr := &http.Transport{TLSClientConfig: tc}
	if *connect != "" {
		tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, *connect)
		}
	}
	client := &http.Client{Timeout: *timeout, Transport: tr}
	resp, err := client.Get(url)
	if err != nil {
		return "", err
	}
	_ = resp.Body.Close()
	return fmt.Sprintf("status=%d tls_verified=%v", resp.StatusCode, verified), nil
}
