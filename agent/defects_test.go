package agent

import (
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
)

// TestDefectSelection: PODNET_DEFECT changes the agent's behaviour in a
// podnet_defects build only; the default (release) build ignores it.
func TestDefectSelection(t *testing.T) {
	c := mustConfig(t, `{"network":"10.244.0.0/16"}`)
	self := node("self", []string{"10.244.0.0/24"})
	other := node("n1", []string{"10.244.1.0/24"}, "192.168.0.1")
	tests := []struct {
		defect string
		// check reports whether the defect took effect.
		check func() bool
	}{
		{"drop-routes", func() bool { return len(DesiredRoutes(c, "self", []*v1.Node{self, other})) == 0 }},
		{"conf-subnet", func() bool {
			conf, err := RenderConflist(c, self)
			return err == nil && !strings.Contains(string(conf), `"10.244.0.0/24"`)
		}},
		{"no-masquerade", func() bool {
			subnets, _ := NodeSubnets(c, self)
			return len(DesiredRules(c, subnets)) == 2
		}},
		{"wipe-store", func() bool { return defects.wipeStore }},
	}
	for _, tt := range tests {
		t.Run(tt.defect, func(t *testing.T) {
			saved := defects
			t.Cleanup(func() { defects = saved })
			t.Setenv("PODNET_DEFECT", tt.defect)
			if err := loadDefects(); err != nil {
				t.Fatal(err)
			}
			if got := tt.check(); got != defectsBuild {
				t.Fatalf("defects build %v: defect %s took effect: %v", defectsBuild, tt.defect, got)
			}
		})
	}
	t.Run("unknown defect", func(t *testing.T) {
		saved := defects
		t.Cleanup(func() { defects = saved })
		t.Setenv("PODNET_DEFECT", "no-such-defect")
		if err := loadDefects(); (err != nil) != defectsBuild {
			t.Fatalf("defects build %v: unknown defect gives %v", defectsBuild, err)
		}
	})
}
