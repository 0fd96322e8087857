package results

import "testing"

func TestCoverageSummary(t *testing.T) {
	cell := func(b string, r Result, detail string) Cell {
		return Cell{Behaviour: b, Name: b, Protocol: "http", Result: r, Detail: detail}
	}
	noDocker := "no docker here"
	for _, tc := range []struct {
		name     string
		cells    []Cell
		runError string
		required func(string, string) bool
		want     string
	}{
		{name: "all ran", cells: []Cell{cell("a", Pass, ""), cell("b", Fail, "boom")}, required: func(string, string) bool { return true },
			want: "1 passed, 1 failed, 0 skipped: full coverage (every required behaviour ran; required: runnable)"},
		{name: "a skip not required", cells: []Cell{cell("a", Pass, ""), cell("heal", Skip, "changes the nodes")}, required: func(b, _ string) bool { return b != "heal" },
			want: "1 passed, 0 failed, 1 skipped: full coverage (every required behaviour ran; required: runnable; 1 behaviours not required skipped, e.g. heal: changes the nodes)"},
		{name: "required skips, grouped by reason", cells: []Cell{cell("a", Pass, ""), cell("NAT", Skip, noDocker), cell("NAT", Skip, noDocker), cell("NodePort from outside", Skip, noDocker), cell("churn", Skip, "podnet-only")},
			required: func(string, string) bool { return true },
			want:     "1 passed, 0 failed, 4 skipped: NOT a full gate (required: runnable; NAT, NodePort from outside: 3 cells skipped (no docker here); churn: 1 cells skipped (podnet-only))"},
		{name: "one family cannot have it", cells: []Cell{cell("a", Pass, ""), cell("loopback", Pass, ""), cell("loopback", Skip, "no ::1 forwarding")},
			required: func(_, reason string) bool { return reason != "no ::1 forwarding" },
			want:     "2 passed, 0 failed, 1 skipped: full coverage (every required behaviour ran; required: runnable; 1 behaviours not required skipped, e.g. loopback: no ::1 forwarding)"},
		{name: "setup failed", cells: []Cell{cell("a", Pass, "")}, runError: "create cluster: boom", required: func(string, string) bool { return true },
			want: "1 passed, 0 failed, 0 skipped: NOT a full gate (required: runnable; the run stopped early: create cluster: boom)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &Matrix{Cells: tc.cells, RunError: tc.runError}
			m.Count()
			if got := NewCoverage(m, "runnable", false, tc.required).Summary(m); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}
