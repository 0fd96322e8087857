package agent

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
	"k8s.io/client-go/kubernetes/fake"
)

// TestRAAtRisk: only an interface holding an IPv6 default route learnt from
// RAs with accept_ra=1 is named; accept_ra=2 or a default route from
// elsewhere is fine.
func TestRAAtRisk(t *testing.T) {
	tests := []struct {
		name     string
		acceptRA string
		proto    int
		dst      string // "" = the default route
		want     []string
	}{
		{"RA default route, accept_ra=1", "1", unix.RTPROT_RA, "", []string{"agt0"}},
		{"RA default route, accept_ra=2", "2", unix.RTPROT_RA, "", nil},
		{"RA default route, accept_ra=0", "0", unix.RTPROT_RA, "", nil},
		{"static default route, accept_ra=1", "1", unix.RTPROT_STATIC, "", nil},
		{"RA route that is not the default, accept_ra=1", "1", unix.RTPROT_RA, "fd00:99::/64", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, h := testNetNS(t)
			l, err := h.LinkByName("agt0")
			if err != nil {
				t.Fatal(err)
			}
			r := &netlink.Route{LinkIndex: l.Attrs().Index, Gw: net.ParseIP("fd00:30::2"), Protocol: netlink.RouteProtocol(tt.proto), Table: unix.RT_TABLE_MAIN}
			if tt.dst != "" {
				r.Dst = prefixToIPNet(mustPrefix(tt.dst))
			}
			if err := h.RouteAdd(r); err != nil {
				t.Fatal(err)
			}
			root := t.TempDir()
			for name, v := range map[string]string{"agt0": tt.acceptRA, "agt1": "1", "lo": "1"} {
				dir := filepath.Join(root, "net/ipv6/conf", name)
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, "accept_ra"), []byte(v+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := routeTable{h: h}.raAtRisk(root)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestRAWarningOnce: the sysctls step of an IPv6 agent warns, naming the
// interface, once, not at every reconcile.
func TestRAWarningOnce(t *testing.T) {
	nsh, h := testNetNS(t)
	l, err := h.LinkByName("agt0")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.RouteAdd(&netlink.Route{LinkIndex: l.Attrs().Index, Gw: net.ParseIP("fd00:30::2"), Protocol: unix.RTPROT_RA, Table: unix.RT_TABLE_MAIN}); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	for path, v := range map[string]string{"net/ipv6/conf/agt0/accept_ra": "1", "net/ipv6/conf/all/forwarding": "0"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, path)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, path), []byte(v+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var logs syncBuffer
	a := newTestAgent(t, nsh, fake.NewClientset(), `{"network6":"fd00:10:244::/56"}`, time.Hour, slog.New(slog.NewTextHandler(&logs, nil)), stepSysctls)
	a.opts.SysctlRoot = root
	startInformers(t, a)
	for range 2 {
		_ = a.Reconcile(context.Background()) // no Node "self": the error is not the point
	}
	if n := strings.Count(logs.String(), "accept_ra=1"); n != 1 || !strings.Contains(logs.String(), "interface=agt0") {
		t.Fatalf("%d warnings naming agt0, want 1:\n%s", n, logs.String())
	}
}
