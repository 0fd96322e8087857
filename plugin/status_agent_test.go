package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/cnigate/cnigate/plugin/rules"
)

// TestStatusNodeAgent: with "nodeAgent": true STATUS is ready only once the
// agent's ready stamp exists and (with ipMasq) every rule of every family is
// in place; without it STATUS is as before.
func TestStatusNodeAgent(t *testing.T) {
	const dual = `,"network6":"fd00:97::/56","subnet6":"fd00:97:0:1::/64"`
	tests := []struct {
		name     string
		extra    string
		stamp    bool
		rules    int // how many of the network's rules are installed; -1: all
		code     uint
		mentions string
	}{
		{"no nodeAgent, nothing in place", ``, false, 0, 0, ""},
		{"nodeAgent false, nothing in place", `,"nodeAgent":false`, false, 0, 0, ""},
		{"no stamp", `,"nodeAgent":true`, false, -1, errPluginUnavailable, "podnet-agent has not completed a reconcile on this node since it was installed"},
		{"stamp, no rules", `,"nodeAgent":true`, true, 0, errPluginUnavailable, "3 of podnet's iptables rules are missing"},
		{"stamp, one rule missing", `,"nodeAgent":true`, true, 2, errPluginUnavailable, "1 of podnet's iptables rules are missing"},
		{"stamp and rules", `,"nodeAgent":true`, true, -1, 0, ""},
		{"stamp, ipMasq off, no rules", `,"nodeAgent":true,"ipMasq":false`, true, 0, 0, ""},
		{"no stamp, ipMasq off", `,"nodeAgent":true,"ipMasq":false`, false, 0, errPluginUnavailable, "podnet-agent"},
		{"dual, IPv6 rules missing", `,"nodeAgent":true` + dual, true, 3, errPluginUnavailable, "3 of podnet's iptables rules are missing"},
		{"dual, stamp and rules", `,"nodeAgent":true` + dual, true, -1, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestConf(t)
			c.extra = tt.extra
			inHostNetNS(t, func() error {
				n := mustConf(c)
				if tt.stamp {
					dir := rules.AgentDir(c.dataDir)
					if err := os.MkdirAll(dir, 0o755); err != nil {
						return err
					}
					if err := os.WriteFile(filepath.Join(dir, rules.ReadyFile), nil, 0o644); err != nil {
						return err
					}
				}
				all := masqueradeRules(n)
				install := all
				if tt.rules >= 0 {
					install = all[:tt.rules]
				}
				tables := ruleTables{}
				for _, r := range install {
					ipt, err := tables.of(r)
					if err != nil {
						return err
					}
					if err := ipt.Append(r.Table, r.Chain, r.Spec...); err != nil {
						return err
					}
				}
				_, err := call(cmdStatus, c.json(), "", "", "")
				if tt.code == 0 {
					if err != nil {
						return fmt.Errorf("STATUS: %w, want ready", err)
					}
					return nil
				}
				return wantCode(err, tt.code, tt.mentions)
			})
		})
	}
}
