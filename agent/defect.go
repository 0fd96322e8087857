package agent

import "net/netip"

// defectHooks are the faults a podnet_defects build injects (issue 19); a
// release build leaves them all off (defects_on.go sets them from env
// PODNET_DEFECT).
type defectHooks struct {
	build        bool                            // a podnet_defects build: the agent manages DefectFile
	name         string                          // the selected defect, for the log
	dropRoutes   bool                            // program no routes, delete ours
	wipeStore    bool                            // wipe podnet's store on start
	noMasquerade bool                            // no MASQUERADE rule (the plugin reads DefectFile)
	shiftSubnet  func(netip.Prefix) netip.Prefix // conf-subnet: another subnet in the conflist
}

var defects defectHooks

// loadDefects is replaced by a podnet_defects build; a release build
// ignores PODNET_DEFECT.
var loadDefects = func() error { return nil }

func (d defectHooks) confSubnet(p netip.Prefix) netip.Prefix {
	if d.shiftSubnet == nil {
		return p
	}
	return d.shiftSubnet(p)
}
