package deploy_test

import (
	"encoding/json"
	"testing"

	"github.com/cnigate/cnigate/agent"
	"github.com/cnigate/cnigate/deploy"
)

// The agent owns config.json's schema: what the manifest renders must be
// what it accepts, field for field (this test may import the agent; the
// package itself must not, the e2e suite imports it).
func TestAgentAcceptsTheConfig(t *testing.T) {
	for _, o := range []deploy.Options{
		{Image: "i", Network: "10.244.0.0/16"},
		{Image: "i", Network6: "fd00:10:244::/56", MTU: 1400, Routes: deploy.RoutesNone, CNIVersion: "1.1.0"},
		{Image: "i", Network: "10.244.0.0/16", Network6: "fd00:10:244::/56", NoMasquerade: true, NoHairpin: true, NoPortmap: true},
	} {
		raw, err := json.Marshal(o.Config())
		if err != nil {
			t.Fatal(err)
		}
		c, err := agent.ParseConfig(raw)
		if err != nil {
			t.Fatalf("agent refuses %s: %v", raw, err)
		}
		back, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		var got, want map[string]any
		if err := json.Unmarshal(back, &got); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &want); err != nil {
			t.Fatal(err)
		}
		for k, v := range want {
			if g, ok := got[k]; !ok || g != v {
				t.Errorf("%s: the agent read %v, the manifest says %v", k, g, v)
			}
		}
	}
}
