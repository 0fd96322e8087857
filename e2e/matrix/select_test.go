package matrix

import (
	"testing"

	"github.com/cnigate/cnigate/internal/testfilter"
)

// Which cells of which rows a --test selection runs.
func TestSelectionCells(t *testing.T) {
	udpOther := rowName{group: gContract, name: "ClusterIP UDP, backend other node"}
	podPod := rowName{group: gConnectivity, name: "pod -> pod, same node"}
	for _, tc := range []struct {
		name  string
		test  []string
		row   rowName
		cell  string
		wantR bool // the row runs whole
		want  bool // the cell runs
	}{
		{"no --test: everything", nil, podPod, "http:shell-w1->web-w1", true, true},
		{"a group", []string{"^Contract/"}, udpOther, "udp:shell-w1->svc/web-w2", true, true},
		{"another group", []string{"^Contract/"}, podPod, "http:shell-w1->web-w1", false, false},
		{"a cell expression in every row", []string{"icmp:"}, podPod, "icmp:shell-w1->web-w1", false, true},
		{"a cell expression, another cell", []string{"icmp:"}, podPod, "http:shell-w1->web-w1", false, false},
		{"a row excluded", []string{"!UDP"}, udpOther, "udp:shell-w1->svc/web-w2", false, false},
		{"a cell excluded in a selected row", []string{"pod -> pod", "!http:"}, podPod, "http:shell-w1->web-w1", true, false},
		{"the cell the exclusion spares", []string{"pod -> pod", "!http:"}, podPod, "icmp:shell-w1->web-w1", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := testfilter.Parse(tc.test...)
			if err != nil {
				t.Fatal(err)
			}
			sel := newSelection(f)
			var r row
			for _, x := range rows() {
				if x.group == tc.row.group && x.name == tc.row.name {
					r = x
				}
			}
			if r.name == "" {
				t.Fatalf("no row %v in the table", tc.row)
			}
			whole, _ := sel.row(r)
			if whole != tc.wantR {
				t.Errorf("row whole = %v, want %v", whole, tc.wantR)
			}
			tc.row.whole = whole
			if got := sel.cell(tc.row, r.name, tc.cell); got != tc.want {
				t.Errorf("cell %s runs = %v, want %v", tc.cell, got, tc.want)
			}
		})
	}
}
