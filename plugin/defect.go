package main

// defectHooks are the faults a podnet_defects build injects (issue 19: the
// gates must catch them). A release build leaves every hook nil, so it
// behaves exactly as if they did not exist; defects_on.go sets them.
type defectHooks struct {
	// filterRules edits the rules podnet installs and checks.
	filterRules func(n *NetConf, rs []rule) []rule
}

var defects defectHooks

func (d defectHooks) rules(n *NetConf, rs []rule) []rule {
	if d.filterRules == nil {
		return rs
	}
	return d.filterRules(n, rs)
}
