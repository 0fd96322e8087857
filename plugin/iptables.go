package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/coreos/go-iptables/iptables"
	"golang.org/x/sys/unix"
)

// rule is one iptables rule podnet owns.
type rule struct {
	table, chain string
	spec         []string
}

func (r rule) String() string { return r.table + "/" + r.chain + " " + strings.Join(r.spec, " ") }

// masqueradeRules are the node-wide rules of the network: forward everything
// to and from the pod network, and masquerade pod traffic that leaves it.
// Traffic between pods of different nodes keeps its pod source address.
func masqueradeRules(n *NetConf) []rule {
	comment := []string{"-m", "comment", "--comment", "podnet: " + n.Name}
	network, subnet := n.network.String(), n.pool.Subnet.String()
	return []rule{
		{"filter", "FORWARD", append([]string{"-s", network}, append(comment, "-j", "ACCEPT")...)},
		{"filter", "FORWARD", append([]string{"-d", network}, append(comment, "-j", "ACCEPT")...)},
		{"nat", "POSTROUTING", append([]string{"-s", subnet, "!", "-d", network, "!", "-o", n.Bridge}, append(comment, "-j", "MASQUERADE")...)},
	}
}

// missingRules returns the rules of n that are not installed.
func missingRules(ipt *iptables.IPTables, n *NetConf) ([]rule, error) {
	var missing []rule
	for _, r := range masqueradeRules(n) {
		ok, err := ipt.Exists(r.table, r.chain, r.spec...)
		if err != nil {
			return nil, fmt.Errorf("checking iptables rule %s: %w", r, err)
		}
		if !ok {
			missing = append(missing, r)
		}
	}
	return missing, nil
}

// ensureRules installs the rules of n once however many ADDs run at a time:
// the common case (all present) takes no lock; otherwise the check is
// repeated and the rules appended under a per-network flock.
func ensureRules(n *NetConf, lockDir string) error {
	ipt, err := iptables.NewWithProtocol(iptables.ProtocolIPv4)
	if err != nil {
		return fmt.Errorf("iptables: %w", err)
	}
	missing, err := missingRules(ipt, n)
	if err != nil || len(missing) == 0 {
		return err
	}
	lock, err := os.OpenFile(filepath.Join(lockDir, "rules.lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("opening iptables lock: %w", err)
	}
	defer func() { _ = lock.Close() }() // closing drops the flock
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		return fmt.Errorf("locking %s: %w", lock.Name(), err)
	}
	if missing, err = missingRules(ipt, n); err != nil {
		return err
	}
	for _, r := range missing {
		if err := ipt.Append(r.table, r.chain, r.spec...); err != nil {
			return fmt.Errorf("adding iptables rule %s: %w", r, err)
		}
	}
	return nil
}
