package cnitest

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/containernetworking/plugins/pkg/ns"
	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// Ping sends one ICMP echo (ICMPv6 echo to an IPv6 dst) from inside netns
// to dst and waits up to timeout for the matching reply. The socket is
// opened in netns, so the probe uses that namespace's routes and addresses,
// as a process in the pod would.
func Ping(netns ns.NetNS, dst net.IP, timeout time.Duration) error {
	network, listen, proto := "ip4:icmp", "0.0.0.0", 1 // 1: ICMPv4
	var echo, echoReply icmp.Type = ipv4.ICMPTypeEcho, ipv4.ICMPTypeEchoReply
	if dst.To4() == nil {
		network, listen, proto = "ip6:ipv6-icmp", "::", 58 // 58: ICMPv6
		echo, echoReply = ipv6.ICMPTypeEchoRequest, ipv6.ICMPTypeEchoReply
	}
	return netns.Do(func(ns.NetNS) error {
		conn, err := icmp.ListenPacket(network, listen)
		if err != nil {
			return err
		}
		defer func() { _ = conn.Close() }()
		id, seq := os.Getpid()&0xffff, int(time.Now().UnixNano()&0xffff)
		msg := icmp.Message{Type: echo, Body: &icmp.Echo{ID: id, Seq: seq, Data: []byte("cnitest")}}
		wire, err := msg.Marshal(nil)
		if err != nil {
			return err
		}
		if _, err := conn.WriteTo(wire, &net.IPAddr{IP: dst}); err != nil {
			return fmt.Errorf("ping %s: %w", dst, err)
		}
		if err := conn.SetReadDeadline(time.Now().Add(timeout)); err != nil {
			return err
		}
		buf := make([]byte, 1500)
		for {
			n, peer, err := conn.ReadFrom(buf)
			if err != nil {
				return fmt.Errorf("ping %s: no reply: %w", dst, err)
			}
			reply, err := icmp.ParseMessage(proto, buf[:n])
			if err != nil || reply.Type != echoReply {
				continue
			}
			if echo, ok := reply.Body.(*icmp.Echo); ok && echo.Seq == seq && peer.String() == dst.String() {
				return nil
			}
		}
	})
}

// Listener is a TCP echo-once server living in a netns.
type Listener struct {
	net.Listener
	done chan struct{}
}

// ListenTCP opens a TCP listener on addr (IPv4 or IPv6) inside netns that answers every
// connection with "hello from <addr>".
func ListenTCP(netns ns.NetNS, addr string) (*Listener, error) {
	var l net.Listener
	err := netns.Do(func(ns.NetNS) (err error) {
		l, err = net.Listen("tcp", addr)
		return err
	})
	if err != nil {
		return nil, err
	}
	ln := &Listener{Listener: l, done: make(chan struct{})}
	go func() {
		defer close(ln.done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_, _ = fmt.Fprintf(c, "hello from %s", l.Addr())
			_ = c.Close()
		}
	}()
	return ln, nil
}

// Close stops the listener and waits for its goroutine.
func (l *Listener) Close() error {
	err := l.Listener.Close()
	<-l.done
	return err
}

// DialTCP connects from inside netns to addr and returns what the server said.
func DialTCP(ctx context.Context, netns ns.NetNS, addr string) (string, error) {
	var conn net.Conn
	err := netns.Do(func(ns.NetNS) (err error) {
		var d net.Dialer
		conn, err = d.DialContext(ctx, "tcp", addr)
		return err
	})
	if err != nil {
		return "", err
	}
	defer func() { _ = conn.Close() }()
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	data, err := io.ReadAll(conn)
	return string(data), err
}
