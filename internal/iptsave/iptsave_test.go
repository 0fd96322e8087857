package iptsave

import (
	"slices"
	"strings"
	"testing"
)

func TestParseRuleLine(t *testing.T) {
	tests := []struct {
		line, chain, spec string
		ok                bool
	}{
		{`-A POSTROUTING -s 10.244.1.0/24 ! -d 10.244.0.0/16 ! -o cni0 -m comment --comment "podnet: podnet" -j MASQUERADE`,
			"POSTROUTING", "-s|10.244.1.0/24|!|-d|10.244.0.0/16|!|-o|cni0|-m|comment|--comment|podnet: podnet|-j|MASQUERADE", true},
		{`-A FORWARD -s 10.244.0.0/16 -m comment --comment "a \"quoted\" word" -j ACCEPT`,
			"FORWARD", `-s|10.244.0.0/16|-m|comment|--comment|a "quoted" word|-j|ACCEPT`, true},
		{`-A POSTROUTING ! -d 10.244.0.0/16 -m comment --comment x -j MASQUERADE`,
			"POSTROUTING", "!|-d|10.244.0.0/16|-m|comment|--comment|x|-j|MASQUERADE", true},
		{`-A X --comment ""`, "X", "--comment|", true},
		{`-P FORWARD ACCEPT`, "", "", false},
		{`-N KUBE-FORWARD`, "", "", false},
		{`-A FORWARD -m comment --comment "unterminated`, "", "", false},
	}
	for _, tt := range tests {
		chain, spec, ok := ParseRuleLine(tt.line)
		if ok != tt.ok || chain != tt.chain || strings.Join(spec, "|") != tt.spec {
			t.Errorf("%s: got %q %q %v", tt.line, chain, strings.Join(spec, "|"), ok)
		}
	}
}

func TestSplit(t *testing.T) {
	got, err := Split("a  \"b c\"\td\\ e")
	if err != nil || !slices.Equal(got, []string{"a", "b c", "d e"}) {
		t.Errorf("Split = %q, %v", got, err)
	}
	if _, err := Split(`"open`); err == nil {
		t.Error("an unterminated quote must be an error")
	}
}
