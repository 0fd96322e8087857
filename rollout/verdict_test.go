package rollout

import (
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/cnigate/cnigate/results"
	"github.com/cnigate/cnigate/rollout/flow"
)

func defaults(t *testing.T) Thresholds {
	t.Helper()
	var th Thresholds
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	th.Register(fs)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	return th
}

func TestOrder(t *testing.T) {
	nodes := []Node{{"w2", false}, {"cp", true}, {"w10", false}, {"w1", false}, {"cp0", true}}
	for _, c := range []struct {
		name    string
		nodes   []Node
		canary  string
		want    string
		wantErr string
	}{
		{"first worker by name is the canary, control plane last", nodes, "", "w1 w10 w2 cp cp0", ""},
		{"a named canary goes first", nodes, "w2", "w2 w1 w10 cp cp0", ""},
		{"even a control-plane canary", nodes, "cp0", "cp0 w1 w10 w2 cp", ""},
		{"control plane only", []Node{{"b", true}, {"a", true}}, "", "a b", ""},
		{"unknown canary", nodes, "w3", "", "--canary w3: no such node"},
		{"no node", nil, "", "", "no node runs the DaemonSet"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := Order(c.nodes, c.canary)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("Order = %v, %v; want error %q", got, err, c.wantErr)
				}
				return
			}
			if err != nil || strings.Join(got, " ") != c.want {
				t.Errorf("Order = %v, %v; want %s", got, err, c.want)
			}
		})
	}
}

func TestThresholdsValidate(t *testing.T) {
	for _, c := range []struct {
		name string
		mod  func(*Thresholds)
		want string
	}{
		{"defaults", func(*Thresholds) {}, ""},
		{"negative resets", func(t *Thresholds) { t.MaxResets = -1 }, "--max-resets -1: negative"},
		{"zero gap", func(t *Thresholds) { t.MaxGap = 0 }, "--max-gap 0s: must be positive"},
		{"loss over 100", func(t *Thresholds) { t.MaxUDPLossPct = 101 }, "--max-udp-loss 101: want 0 to 100"},
		{"negative settle", func(t *Thresholds) { t.Settle = -time.Second }, "--settle -1s: negative"},
	} {
		th := defaults(t)
		c.mod(&th)
		err := th.Validate()
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: Validate = %v, want %q", c.name, err, c.want)
		}
	}
}

func TestSummarizeAndJudge(t *testing.T) {
	from := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	recent := from.Add(5 * time.Second)
	f := func(kind string, ok, fail, resets, lost int, gap float64) flow.Stats {
		return flow.Stats{Client: "w1", Target: "other:w2", Kind: kind, OK: ok, Fail: fail, Resets: resets, Lost: lost, MaxGapMs: gap, LastEvent: recent}
	}
	th := defaults(t)
	for _, c := range []struct {
		name   string
		flows  []flow.Stats
		mod    func(*results.RolloutSummary)
		checks []results.RolloutCheck
		want   []string // substrings, one per failure, in order
	}{
		{name: "clean", flows: []flow.Stats{f(flow.KindTCP, 100, 0, 0, 0, 120), f(flow.KindUDP, 100, 1, 0, 0, 210), f(flow.KindConnect, 50, 0, 0, 0, 250)}},
		{name: "a reset", flows: []flow.Stats{f(flow.KindTCP, 100, 1, 1, 0, 120)}, want: []string{"1 connections reset (limit 0)"}},
		{name: "a stream stall", flows: []flow.Stats{f(flow.KindTCP, 100, 0, 0, 0, 4000)}, want: []string{"stream gap 4000 ms (limit 1500 ms)"}},
		{name: "connect gap judged on its own limit", flows: []flow.Stats{f(flow.KindConnect, 10, 9, 0, 0, 1900), f(flow.KindConnect, 10, 9, 0, 0, 2100)},
			want: []string{"new-connection gap 2100 ms (limit 2000 ms)"}},
		{name: "UDP loss", flows: []flow.Stats{f(flow.KindUDP, 90, 10, 0, 0, 300)}, want: []string{"UDP loss 10.0% (limit 2.0%)"}},
		{name: "a silent client counts as lost", flows: []flow.Stats{{Client: "w1", Target: "same:w1", Kind: flow.KindTCP, LastEvent: from.Add(-time.Second)}},
			want: []string{"0 connections lost + 1 flows silent (w1→same:w1/tcp) (limit 0)"}},
		{name: "cluster side", mod: func(s *results.RolloutSummary) {
			s.Restarts, s.SandboxEvents, s.IPChanges = 2, []string{"FailedCreatePodSandBox a", "b", "c", "d"}, []string{"ns/p on w1: 10.0.0.1 → 10.0.0.9"}
		}, want: []string{"2 pod restarts (limit 0)", "4 sandbox failure events (limit 0): FailedCreatePodSandBox a; b; c; and 1 more", "1 pods changed IP: ns/p"}},
		{name: "failed check first", flows: []flow.Stats{f(flow.KindTCP, 1, 0, 1, 0, 0)},
			checks: []results.RolloutCheck{{Name: "w1 → pod on w2 tcp", Passed: false, Detail: "no answer"}, {Name: "ok", Passed: true}},
			want:   []string{`check "w1 → pod on w2 tcp" failed: no answer`, "1 connections reset"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := Summarize(c.flows, from)
			if c.mod != nil {
				c.mod(&s)
			}
			got := Judge(s, c.checks, th)
			if len(got) != len(c.want) {
				t.Fatalf("Judge = %q, want %d failures %q", got, len(c.want), c.want)
			}
			for i := range got {
				if !strings.Contains(got[i], c.want[i]) {
					t.Errorf("failure %d = %q, want %q", i, got[i], c.want[i])
				}
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	ok := Config{Namespace: "kube-system", DaemonSet: "podnet", Container: "agent", Image: "c:2", TestImage: "t", ImagePullPolicy: "Never",
		Interval: 100 * time.Millisecond, ConnectInterval: 200 * time.Millisecond, Thresholds: defaults(t)}
	for _, c := range []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"ok", func(*Config) {}, ""},
		{"no image", func(c *Config) { c.Image = "" }, "--image is empty"},
		{"watch-only needs no daemonset", func(c *Config) { c.WatchOnly, c.Image, c.DaemonSet = true, "", "" }, ""},
		{"watch-only takes no image", func(c *Config) { c.WatchOnly = true }, "--watch-only changes nothing"},
		{"no daemonset", func(c *Config) { c.DaemonSet = "" }, "--daemonset is empty"},
		{"pull policy", func(c *Config) { c.ImagePullPolicy = "Sometimes" }, `--image-pull-policy "Sometimes"`},
		{"threshold", func(c *Config) { c.Thresholds.MaxLost = -2 }, "--max-lost -2"},
		{"external without a host", func(c *Config) { c.External = ":7000" }, `--external ":7000": want HOST:PORT`},
		{"external", func(c *Config) { c.External = "172.18.0.9:7000" }, ""},
	} {
		cfg := ok
		c.mod(&cfg)
		err := cfg.Validate()
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: Validate = %v, want %q", c.name, err, c.want)
		}
	}
}
