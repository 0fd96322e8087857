package testfilter

import (
	"strings"
	"testing"
)

func TestFilter(t *testing.T) {
	for _, tc := range []struct {
		name    string
		exprs   []string
		match   []string
		nomatch []string
		wantErr string
	}{
		{name: "empty selects everything", match: []string{"a", ""}},
		{name: "one regex", exprs: []string{"pod -> pod"}, match: []string{"Connectivity/pod -> pod, same node"}, nomatch: []string{"Contract/NodePort from another node"}},
		{name: "comma-separated is OR", exprs: []string{"^Contract/,IPAM"}, match: []string{"Contract/x", "IPAM/churn"}, nomatch: []string{"Connectivity/x"}},
		{name: "repeated is OR", exprs: []string{"^Contract/", "IPAM"}, match: []string{"Contract/x", "IPAM/churn"}, nomatch: []string{"Healing/x"}},
		{name: "exclusion only: everything else", exprs: []string{"!Healing"}, match: []string{"Contract/x"}, nomatch: []string{"Healing/route"}},
		{name: "exclusion wins over inclusion", exprs: []string{"Contract,!UDP"}, match: []string{"Contract/ClusterIP TCP"}, nomatch: []string{"Contract/ClusterIP UDP", "IPAM/x"}},
		{name: "a comma and a space do not separate", exprs: []string{"pod -> pod, same node,!icmp"}, match: []string{"Connectivity/pod -> pod, same node/http:a->b"}, nomatch: []string{"Connectivity/pod -> pod, other node/http:a->b", "Connectivity/pod -> pod, same node/icmp:a->b"}},
		{name: "a comma as \\x2c", exprs: []string{`a\x2cb`}, match: []string{"a,b"}, nomatch: []string{"a", "b"}},
		{name: "trailing comma", exprs: []string{"a,"}, wantErr: "empty expression"},
		{name: "bad regex names it", exprs: []string{"a,(b"}, wantErr: `"(b"`},
		{name: "empty expression", exprs: []string{"a,,b"}, wantErr: "empty expression"},
		{name: "bare !", exprs: []string{"!"}, wantErr: "empty expression"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse(tc.exprs...)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range tc.match {
				if !f.Match(n) {
					t.Errorf("%q does not select %q", f.String(), n)
				}
			}
			for _, n := range tc.nomatch {
				if f.Match(n) {
					t.Errorf("%q selects %q", f.String(), n)
				}
			}
		})
	}
}

func TestMatchAny(t *testing.T) {
	f, err := Parse("^IPAM/,!churn,tcp:shell-1")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		names []string
		want  bool
	}{
		{[]string{"IPAM/pod IP", "IPAM/pod IP/ip:shell-1->x"}, true},         // the row is included
		{[]string{"Contract/x", "Contract/x/tcp:shell-1->web-2"}, true},      // the cell is
		{[]string{"Contract/x", "Contract/x/udp:shell-1->web-2"}, false},     // neither
		{[]string{"IPAM/churn", "IPAM/churn/count:node-1"}, false},           // the row is excluded
		{[]string{"IPAM/pod IP", "IPAM/pod IP/count:node-1 (churn)"}, false}, // the cell is excluded
	} {
		if got := f.MatchAny(tc.names...); got != tc.want {
			t.Errorf("MatchAny(%q) = %v, want %v", tc.names, got, tc.want)
		}
	}
}
