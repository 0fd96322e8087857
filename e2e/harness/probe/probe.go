package probe

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// PingCommand is the ICMP probe run inside a pod (busybox ping).
func PingCommand(ip string) []string {
	return []string{"ping", "-q", "-c", "3", "-i", "0.2", "-W", "2", ip}
}

// HTTPCommand is the HTTP probe run inside a pod (probe-http, shipped in the
// test image; see ci/images/busybox).
func HTTPCommand(url string) []string {
	return []string{"probe-http", url, "5"}
}

// PingResult is what busybox ping printed.
type PingResult struct {
	Sent, Received int
	AvgRTT         time.Duration
}

var (
	pingCounts = regexp.MustCompile(`(\d+) packets transmitted, (\d+) packets received`)
	pingRTT    = regexp.MustCompile(`round-trip min/avg/max = [0-9.]+/([0-9.]+)/[0-9.]+ ms`)
)

// ParsePing parses busybox `ping -q` output. It is an error when no reply came.
func ParsePing(out string) (PingResult, error) {
	var r PingResult
	m := pingCounts.FindStringSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("no ping statistics in %q", strings.TrimSpace(out))
	}
	r.Sent, _ = strconv.Atoi(m[1])
	r.Received, _ = strconv.Atoi(m[2])
	if r.Received == 0 {
		return r, fmt.Errorf("no reply: %d sent, 0 received", r.Sent)
	}
	if m := pingRTT.FindStringSubmatch(out); m != nil {
		ms, err := strconv.ParseFloat(m[1], 64)
		if err == nil {
			r.AvgRTT = time.Duration(ms * float64(time.Millisecond))
		}
	}
	return r, nil
}

// HTTPResult is what probe-http printed.
type HTTPResult struct {
	Body    string
	Elapsed time.Duration // 0 when the pod could not measure it
}

var httpHead = regexp.MustCompile(`^rc=(\d+) us=(\d+)$`)

// ParseHTTP parses probe-http output: "rc=N us=N" then the body.
func ParseHTTP(out string) (HTTPResult, error) {
	var r HTTPResult
	head, body, _ := strings.Cut(out, "\n")
	m := httpHead.FindStringSubmatch(strings.TrimSpace(head))
	if m == nil {
		return r, fmt.Errorf("not probe-http output: %q", strings.TrimSpace(out))
	}
	r.Body = strings.TrimSpace(body)
	switch {
	case m[1] == "143": // timeout(1) sent SIGTERM
		return r, fmt.Errorf("no answer: timed out (wget exit 143) %s", r.Body)
	case m[1] != "0":
		return r, fmt.Errorf("wget exit %s: %s", m[1], r.Body)
	}
	us, _ := strconv.ParseInt(m[2], 10, 64)
	r.Elapsed = time.Duration(us) * time.Microsecond
	return r, nil
}

// SourceIP normalises the address the CGI reports: busybox httpd listens on a
// dual-stack socket and reports "[::ffff:172.18.0.3]" for an IPv4 client.
func SourceIP(body string) string {
	s := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(body), "["), "]")
	if ip := net.ParseIP(s); ip != nil {
		if v4 := ip.To4(); v4 != nil {
			return v4.String()
		}
		return ip.String()
	}
	return s
}

// Command runs the test image's Go probe (e2e/probe).
func Command(args ...string) []string { return append([]string{"probe"}, args...) }

// ParseProbe parses the probe's one-line verdict: "ok k=v ..." gives the
// fields; "fail <reason>" is an error carrying the reason.
func ParseProbe(out string) (map[string]string, error) {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	switch {
	case strings.HasPrefix(last, "fail "):
		return nil, errors.New(strings.TrimPrefix(last, "fail "))
	case last == "ok" || strings.HasPrefix(last, "ok "):
		fields := map[string]string{}
		for _, f := range strings.Fields(strings.TrimPrefix(last, "ok")) {
			k, v, _ := strings.Cut(f, "=")
			fields[k] = v
		}
		return fields, nil
	}
	return nil, fmt.Errorf("not probe output: %q", strings.TrimSpace(out))
}
