package agent

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/coreos/go-iptables/iptables"

	"github.com/cnigate/cnigate/internal/iptsave"
	"github.com/cnigate/cnigate/plugin/rules"
)

// DesiredRules are podnet's rules for the node's subnets: exactly the
// shapes the plugin installs (package rules), none when ipMasq is off.
func DesiredRules(c *Config, subnets map[bool]netip.Prefix) []rules.Rule {
	if !c.IPMasq {
		return nil
	}
	var fams []rules.Family
	for _, ipv6 := range c.families() {
		sub, ok := subnets[ipv6]
		if !ok {
			continue
		}
		fams = append(fams, rules.Family{IPv6: ipv6, Network: prefixToIPNet(c.networkOf(ipv6)), Subnet: prefixToIPNet(sub)})
	}
	rs := rules.Masquerade(c.Name, c.Bridge, fams)
	if defects.noMasquerade {
		rs = slices.DeleteFunc(rs, rules.Rule.IsMasquerade)
	}
	return rs
}

// hasComment reports whether spec carries the comment of network name.
func hasComment(spec []string, name string) bool {
	for i := 0; i+1 < len(spec); i++ {
		if spec[i] == "--comment" && spec[i+1] == rules.Comment(name) {
			return true
		}
	}
	return false
}

// RulePlan is what reconciling the rules changes.
type RulePlan struct {
	Add    []rules.Rule // desired, missing
	Delete []rules.Rule // carry the network's comment but are not desired (or are duplicates)
}

// DiffRules compares the desired rules with the rules listed in their
// chains (every rule of the chain; only those with the network's comment
// are podnet's). A rule counts as present when its spec is word for word
// the listed one, which is how iptables -S prints what podnet appends.
func DiffRules(name string, desired, listed []rules.Rule) RulePlan {
	key := func(r rules.Rule) string {
		return fmt.Sprint(r.IPv6, " ", r.Table, " ", r.Chain, " ", strings.Join(r.Spec, "\x00"))
	}
	present := map[string]int{}
	for _, r := range listed {
		if hasComment(r.Spec, name) {
			present[key(r)]++
		}
	}
	var plan RulePlan
	want := map[string]bool{}
	for _, r := range desired {
		k := key(r)
		if want[k] {
			continue
		}
		want[k] = true
		if present[k] == 0 {
			plan.Add = append(plan.Add, r)
		}
	}
	for _, r := range listed {
		if !hasComment(r.Spec, name) {
			continue
		}
		k := key(r)
		switch {
		case !want[k]:
			plan.Delete = append(plan.Delete, r)
		case present[k] > 1: // a duplicate: one copy stays
			present[k]--
			plan.Delete = append(plan.Delete, r)
		}
	}
	return plan
}

// ruleTables runs iptables and ip6tables (go-iptables), one handle per
// family, made when first used.
type ruleTables struct {
	handles map[bool]*iptables.IPTables
}

// lockWaitSeconds bounds the wait for the xtables lock.
const lockWaitSeconds = 10

func (t *ruleTables) of(ipv6 bool) (*iptables.IPTables, error) {
	if ipt, ok := t.handles[ipv6]; ok {
		return ipt, nil
	}
	proto := iptables.ProtocolIPv4
	if ipv6 {
		proto = iptables.ProtocolIPv6
	}
	ipt, err := iptables.New(iptables.IPFamily(proto), iptables.Timeout(lockWaitSeconds))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rules.Command(ipv6), err)
	}
	if t.handles == nil {
		t.handles = map[bool]*iptables.IPTables{}
	}
	t.handles[ipv6] = ipt
	return ipt, nil
}

// list returns every rule of the chains podnet uses, in the families given.
func (t *ruleTables) list(families []bool) ([]rules.Rule, error) {
	var out []rules.Rule
	for _, ipv6 := range families {
		ipt, err := t.of(ipv6)
		if err != nil {
			return nil, err
		}
		for _, tc := range rules.Chains {
			lines, err := ipt.List(tc[0], tc[1])
			if err != nil {
				return nil, fmt.Errorf("listing %s %s/%s: %w", rules.Command(ipv6), tc[0], tc[1], err)
			}
			for _, l := range lines {
				if chain, spec, ok := iptsave.ParseRuleLine(l); ok && chain == tc[1] {
					out = append(out, rules.Rule{IPv6: ipv6, Table: tc[0], Chain: chain, Spec: spec})
				}
			}
		}
	}
	return out, nil
}

// reconcile makes the chains hold exactly the desired rules of network
// name (other rules are never touched). It returns the plan it carried out.
func (t *ruleTables) reconcile(name string, families []bool, desired []rules.Rule) (RulePlan, error) {
	listed, err := t.list(families)
	if err != nil {
		return RulePlan{}, err
	}
	plan := DiffRules(name, desired, listed)
	var errs []error
	for _, r := range plan.Delete {
		ipt, err := t.of(r.IPv6)
		if err == nil {
			err = ipt.DeleteIfExists(r.Table, r.Chain, r.Spec...)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("deleting %s rule %s: %w", r.Command(), r, err))
		}
	}
	for _, r := range plan.Add {
		ipt, err := t.of(r.IPv6)
		if err == nil {
			err = ipt.Append(r.Table, r.Chain, r.Spec...)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("adding %s rule %s: %w", r.Command(), r, err))
		}
	}
	return plan, errors.Join(errs...)
}
