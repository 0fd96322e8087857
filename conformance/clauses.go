package conformance

import (
	"maps"
	"slices"

	. "github.com/onsi/ginkgo/v2"
)

// Clause is the CNI SPEC rule a generic spec rests on, so a plugin author who
// disagrees with a finding can read the rule. Specs carry it as a label
// "spec:<key>"; the published report prints the text.
type Clause struct {
	Key, Version, Section, Rule string
}

// Clauses are the SPEC rules the generic specs rest on, by label.
var Clauses = map[string]Clause{
	"spec:ADD": {"spec:ADD", "0.3.0+", "Protocol parameters / ADD; Success result",
		"ADD creates CNI_IFNAME in CNI_NETNS and prints a result describing what it configured (interfaces, IPs with their interface, routes); the result is in the request's cniVersion"},
	"spec:DEL": {"spec:DEL", "0.3.0+", "DEL: Remove container from network",
		"DEL releases what ADD allocated; plugins should generally complete a DEL without error even if some resources are missing (the netns gone, CNI_NETNS empty, nothing ADDed)"},
	"spec:CHECK": {"spec:CHECK", "0.4.0+", "CHECK: Check container's networking is as expected",
		"CHECK, given the ADD result as prevResult, returns an error when the container's networking is not as that result says"},
	"spec:GC": {"spec:GC", "1.1.0", "GC: Clean up any stale resources",
		"GC releases resources of attachments not in cni.dev/valid-attachments and keeps those listed; each entry of that list is an object with a containerID and an ifname"},
	"spec:STATUS": {"spec:STATUS", "1.1.0", "STATUS: Check plugin status",
		"STATUS exits 0 when the plugin is ready to service ADD requests"},
	"spec:VERSION": {"spec:VERSION", "0.3.0+", "VERSION: probe plugin version support; Version compatibility",
		"VERSION lists the supported versions; a command whose cniVersion the plugin does not support (CHECK below 0.4.0, GC and STATUS below 1.1.0) fails with code 1"},
	"spec:errors": {"spec:errors", "0.3.0+", "Error; Well-known error codes; Parameters",
		"a failure prints a JSON error with a code and a message and exits non-zero: 1 incompatible version, 4 invalid environment variables (CNI_CONTAINERID alphanumeric plus _ . -, CNI_IFNAME a valid interface name), 6 decoding failure, 7 invalid network config (name: alphanumeric plus _ . -)"},
	"spec:parallel": {"spec:parallel", "0.3.0+", "Execution of network configurations",
		"the runtime may invoke operations for different containers in parallel; each ADD must still get its own working attachment"},
	"spec:chaining": {"spec:chaining", "0.3.0+", "Network configuration lists; Attaching to a network (prevResult)",
		"in a list, each plugin's ADD gets the previous result as prevResult and its output is the next one's; DEL runs in reverse; the list's cniVersion and name apply to every plugin"},
}

// conventionText says what each convention asserts, where the SPEC is
// silent and the suite asserts what runtimes rely on; a profile may opt out
// of each (optOut).
var conventionText = map[string]string{
	"convention:second-add-fails":        "a second ADD of one attachment (container ID, ifname) without DEL fails and leaves the first intact (the SPEC only forbids the runtime to make it)",
	"convention:own-netns-refused":       "CNI_NETNS naming the runtime's own netns is refused and changes nothing (a runtime bug must not reconfigure the node)",
	"convention:refusal-changes-nothing": "a call refused with an error changes nothing observable: links, addresses, routes, iptables rules of the host and the pods, files of the data dir",
	"convention:rollback":                "a failed ADD leaves no link behind in the pod or the host netns",
	"convention:crash-recovery":          "DEL after an ADD killed at any point leaves no link, no rule, no reservation; with GC after it, no file in the data dir that a clean ADD and DEL would not leave",
	"convention:same-node-l2":            "two pods of one node reach each other (ICMP, TCP)",
	"convention:gateway":                 "a pod reaches the gateway its result names",
}

// conventions are conventionText's labels, in a fixed order.
var conventions = slices.Sorted(maps.Keys(conventionText))

// clause labels a spec with the SPEC clauses it rests on.
func clause(keys ...string) Labels {
	labels := Labels{}
	for _, k := range keys {
		if _, ok := Clauses["spec:"+k]; !ok {
			panic("conformance: no clause spec:" + k)
		}
		labels = append(labels, "spec:"+k)
	}
	return labels
}

// convention labels a spec that asserts a convention rather than a clause.
func convention(name string) Labels {
	label := "convention:" + name
	if !containsString(conventions, label) {
		panic("conformance: unknown convention " + label)
	}
	return Labels{"convention", label}
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ConventionRule says what the convention label asserts ("" if none).
func ConventionRule(label string) string { return conventionText[label] }

// ConventionLabels lists the conventions a profile can opt out of.
func ConventionLabels() []string {
	return append([]string(nil), conventions...)
}

// A profile's opt-outs skip the convention specs, each saying why.
var _ = BeforeEach(func() {
	for _, label := range CurrentSpecReport().Labels() {
		if why, ok := cfg.profile.OptOut[label]; ok {
			Skip("profile: opts out of " + label + ": " + why)
		}
	}
})
