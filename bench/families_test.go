package bench

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cnigate/cnigate/cnitest"
)

func TestCountAddressesHandlesTwoFamiliesAndThePreload(t *testing.T) {
	dual := []string{"ipv4", "ipv6"}
	pod := func(addrs ...string) map[string][]string {
		m := map[string][]string{}
		for _, a := range addrs {
			f := "ipv4"
			if strings.Contains(a, ":") {
				f = "ipv6"
			}
			m[f] = append(m[f], a)
		}
		return m
	}
	result := func(addrs ...string) cnitest.Response {
		var ips []string
		for _, a := range addrs {
			prefix := "/24"
			if strings.Contains(a, ":") {
				prefix = "/64"
			}
			ips = append(ips, fmt.Sprintf(`{"address":%q}`, a+prefix))
		}
		return cnitest.Response{Stdout: []byte(`{"cniVersion":"1.1.0","ips":[` + strings.Join(ips, ",") + `]}`)}
	}
	for _, tc := range []struct {
		name     string
		families []string
		pods     []map[string][]string
		resps    []cnitest.Response
		taken    []string
		want     addrCheck
	}{
		{name: "dual-stack, all right", families: dual,
			pods:  []map[string][]string{pod("10.99.1.2", "fd00:10:99:1::2"), pod("10.99.1.3", "fd00:10:99:1::3")},
			resps: []cnitest.Response{result("10.99.1.2", "fd00:10:99:1::2"), result("10.99.1.3", "fd00:10:99:1::3")}},
		{name: "a pod without its IPv6 address", families: dual,
			pods:  []map[string][]string{pod("10.99.1.2", "fd00:10:99:1::2"), pod("10.99.1.3")},
			resps: []cnitest.Response{result("10.99.1.2", "fd00:10:99:1::2"), result("10.99.1.3", "fd00:10:99:1::3")},
			want:  addrCheck{Unconfigured: 1, BadResults: 1}},
		{name: "an IPv6 address twice", families: dual,
			pods: []map[string][]string{pod("10.99.1.2", "fd00:10:99:1::2"), pod("10.99.1.3", "fd00:10:99:1::2")},
			want: addrCheck{Duplicates: 1}},
		{name: "a result without the IPv6 address", families: dual,
			pods:  []map[string][]string{pod("10.99.1.2", "fd00:10:99:1::2")},
			resps: []cnitest.Response{result("10.99.1.2")},
			want:  addrCheck{BadResults: 1}},
		{name: "a result with two IPv4 addresses", families: dual,
			pods:  []map[string][]string{pod("10.99.1.2", "fd00:10:99:1::2")},
			resps: []cnitest.Response{result("10.99.1.2", "10.99.1.9", "fd00:10:99:1::2")},
			want:  addrCheck{BadResults: 1}},
		{name: "a result naming another address than the pod has", families: dual,
			pods:  []map[string][]string{pod("10.99.1.2", "fd00:10:99:1::2")},
			resps: []cnitest.Response{result("10.99.1.2", "fd00:10:99:1::7")},
			want:  addrCheck{BadResults: 1}},
		{name: "IPv4 only: an IPv6 address in the result", families: []string{"ipv4"},
			pods:  []map[string][]string{pod("10.99.1.2")},
			resps: []cnitest.Response{result("10.99.1.2", "fd00:10:99:1::2")},
			want:  addrCheck{BadResults: 1}},
		{name: "a failed ADD's result is not read", families: []string{"ipv4"},
			pods:  []map[string][]string{pod()},
			resps: []cnitest.Response{{ExitCode: 1, Stdout: []byte(`{"code":11,"msg":"busy"}`)}},
			want:  addrCheck{Unconfigured: 1}},
		{name: "a result that is not JSON", families: []string{"ipv4"},
			pods:  []map[string][]string{pod("10.99.1.2")},
			resps: []cnitest.Response{{Stdout: []byte("oops")}},
			want:  addrCheck{BadResults: 1}},
		{name: "a preloaded address handed out", families: []string{"ipv4"},
			pods:  []map[string][]string{pod("10.100.0.4"), pod("10.100.0.2")},
			taken: []string{"10.100.0.2", "10.100.0.3"},
			want:  addrCheck{Duplicates: 1}},
		{name: "the floor: no results", families: []string{"ipv4"},
			pods: []map[string][]string{pod("10.99.1.2"), pod("10.99.1.3")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			taken := map[string]bool{}
			for _, a := range tc.taken {
				taken[a] = true
			}
			got, problems := countAddresses(tc.families, "1.1.0", tc.pods, tc.resps, taken)
			if got != tc.want {
				t.Errorf("countAddresses = %+v, want %+v", got, tc.want)
			}
			if len(problems) != tc.want.BadResults {
				t.Errorf("%d problems noted for %d bad results: %v", len(problems), tc.want.BadResults, problems)
			}
		})
	}
}
