package main

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/coreos/go-iptables/iptables"
	"golang.org/x/sys/unix"

	"github.com/cnigate/cnigate/plugin/ipam"
	"github.com/cnigate/cnigate/plugin/rules"
)

// iptablesCommand is the binary go-iptables runs for f.
func iptablesCommand(f family) string { return rules.Command(f.ipv6) }

// newIPTables returns podnet's iptables handle for proto. Its lock waits are
// bounded like the store's: iptables-legacy's xtables lock for at most
// ipam.LockTimeout (--wait <seconds>) instead of forever.
func newIPTables(proto iptables.Protocol) (*iptables.IPTables, error) {
	return iptables.New(iptables.IPFamily(proto), iptables.Timeout(int(ipam.LockTimeout.Seconds())))
}

// rule is one iptables or ip6tables rule podnet owns; its shapes are in
// package rules, shared with podnet-agent.
type rule = rules.Rule

// masqueradeRules are the node-wide rules of the network (rules.Masquerade).
func masqueradeRules(n *NetConf) []rule {
	families := make([]rules.Family, len(n.families))
	for i, f := range n.families {
		families[i] = rules.Family{IPv6: f.ipv6, Network: f.network, Subnet: f.pool.Subnet}
	}
	return defects.rules(n, rules.Masquerade(n.Name, n.Bridge, families))
}

// ruleTables holds one go-iptables handle per family, made when first used
// (each costs a version probe: a process).
type ruleTables map[bool]*iptables.IPTables

func (t ruleTables) of(r rule) (*iptables.IPTables, error) {
	if ipt, ok := t[r.IPv6]; ok {
		return ipt, nil
	}
	proto := iptables.ProtocolIPv4
	if r.IPv6 {
		proto = iptables.ProtocolIPv6
	}
	ipt, err := newIPTables(proto)
	if err != nil {
		return nil, fmt.Errorf("iptables: %w", err)
	}
	t[r.IPv6] = ipt
	return ipt, nil
}

// missingRules returns the rules of n that are not installed.
func missingRules(n *NetConf) ([]rule, error) {
	return ruleTables{}.missing(masqueradeRules(n))
}

func (t ruleTables) missing(rules []rule) ([]rule, error) {
	var missing []rule
	for _, r := range rules {
		ipt, err := t.of(r)
		if err != nil {
			return nil, err
		}
		ok, err := ipt.Exists(r.Table, r.Chain, r.Spec...)
		if err != nil {
			return nil, fmt.Errorf("checking %s rule %s: %w", r.Command(), r, err)
		}
		if !ok {
			missing = append(missing, r)
		}
	}
	return missing, nil
}

// ensureRules installs the rules of n once however many ADDs run at a time:
// the common case (all present) takes no lock; otherwise the check is
// repeated and the rules appended under a per-network flock (bounded wait).
// It returns the rules it appended, also on failure, so that a failed ADD
// can remove exactly those.
//
// Checking costs one iptables process per rule plus go-iptables' version
// probe: about a third of an ADD. So a check that finds every
// rule is remembered (rulesStamp) and later ADDs skip it for as long as the
// stamp still describes the kernel; the check runs again after any change.
func ensureRules(n *NetConf, store *ipam.Store) (added []rule, err error) {
	// Taken before the check: a ruleset change during the check makes the
	// stamp stale instead of letting it vouch for what the check did not see.
	stamp := rulesStamp(n)
	if stamp != "" {
		if seen, err := store.ReadFile(rulesStampFile); err == nil && string(seen) == stamp {
			return nil, nil
		}
	}
	tables := ruleTables{}
	missing, err := tables.missing(masqueradeRules(n))
	if err != nil {
		return nil, err
	}
	if len(missing) == 0 {
		if stamp != "" && nftBackends(n) {
			_ = store.WriteFile(rulesStampFile, []byte(stamp)) // failing only costs the next ADD a check
		}
		return nil, nil
	}
	lock, err := store.OpenLock(rulesLockFile)
	if err != nil {
		return nil, storeError("opening iptables lock", err)
	}
	defer func() { _ = lock.Close() }() // closing drops the flock
	if err := ipam.LockFile(lock, ipam.LockTimeout); err != nil {
		return nil, storeError("iptables rules of network "+n.Name, err)
	}
	if missing, err = tables.missing(masqueradeRules(n)); err != nil {
		return nil, err
	}
	for _, r := range missing {
		ipt, err := tables.of(r)
		if err != nil {
			return added, err
		}
		if err := ipt.Append(r.Table, r.Chain, r.Spec...); err != nil {
			return added, fmt.Errorf("adding %s rule %s: %w", r.Command(), r, err)
		}
		added = append(added, r)
	}
	return added, nil
}

// removeRulesIfUnused deletes rules a failed ADD appended, unless another
// attachment of the network now holds an address: it needs them, and every
// ADD after a reservation checks them, so none can be counting on rules that
// are about to go. The caller has released its own address.
func removeRulesIfUnused(store *ipam.Store, added []rule) error {
	if len(added) == 0 {
		return nil
	}
	lock, err := store.OpenLock(rulesLockFile)
	if err != nil {
		return fmt.Errorf("opening iptables lock: %w", err)
	}
	defer func() { _ = lock.Close() }()
	if err := ipam.LockFile(lock, ipam.LockTimeout); err != nil {
		return err
	}
	held, err := store.List()
	if err != nil {
		return err
	}
	if len(held) > 0 {
		return nil
	}
	tables := ruleTables{}
	var errs []error
	for _, r := range added {
		ipt, err := tables.of(r)
		if err == nil {
			err = ipt.DeleteIfExists(r.Table, r.Chain, r.Spec...)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("removing %s rule %s: %w", r.Command(), r, err))
		}
	}
	return errors.Join(errs...)
}

// rulesLockFile, in the network's store directory, serialises rule changes.
const rulesLockFile = "rules.lock"

// rulesStampFile, in the network's store directory, holds the rulesStamp of
// the last check that found every rule.
const rulesStampFile = "rules.verified"

// rulesStamp identifies the state in which a check of n's rules holds: this
// boot, this netns (its cookie, never reused within a boot), these iptables
// and ip6tables binaries (those of n's families: the path go-iptables runs
// and the file it leads to, by device, inode and change time), these rules,
// and the netns's nftables ruleset generation, which the kernel bumps on
// every change of any table, chain or rule of any family. With the same
// stamp nothing in the ruleset has changed since the check, so the rules are
// still there. The stamp is only written when every binary is the nf_tables
// backend (nftBackends: iptables-legacy rules are outside the generation),
// so a stamp that matches names nf_tables binaries; comparing one costs a
// stat per binary, not the walk of its symlinks. "" when a part is unknown.
func rulesStamp(n *NetConf) string {
	var bins []string
	for _, f := range n.families {
		path, err := exec.LookPath(iptablesCommand(f)) // what go-iptables runs
		if err != nil {
			return ""
		}
		var st unix.Stat_t
		if err := unix.Stat(path, &st); err != nil {
			return ""
		}
		bins = append(bins, fmt.Sprintf("%s@%d:%d:%d.%d", path, st.Dev, st.Ino, st.Ctim.Sec, st.Ctim.Nsec))
	}
	boot, err := bootID()
	if err != nil {
		return ""
	}
	cookie, gen, err := nftGeneration()
	if err != nil {
		return ""
	}
	rules := sha256.New()
	for _, r := range masqueradeRules(n) {
		rules.Write([]byte(r.String() + "\n"))
	}
	return fmt.Sprintf("boot %s netns %d iptables %s rules %x generation %d\n",
		boot, cookie, strings.Join(bins, ","), rules.Sum(nil)[:8], gen)
}

// nftBackends reports whether the iptables binary of every family of n is
// the nf_tables backend (its symlinks lead to an "nft" binary).
func nftBackends(n *NetConf) bool {
	for _, f := range n.families {
		path, err := exec.LookPath(iptablesCommand(f))
		if err != nil {
			return false
		}
		bin, err := filepath.EvalSymlinks(path)
		if err != nil || !strings.Contains(filepath.Base(bin), "nft") {
			return false
		}
	}
	return true
}

// nftGeneration asks the kernel (NFT_MSG_GETGEN) for the nftables ruleset
// generation of the calling thread's netns, and returns it with the netns
// cookie (SO_NETNS_COOKIE, Linux 5.14+).
func nftGeneration() (cookie uint64, gen uint32, err error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_NETFILTER)
	if err != nil {
		return 0, 0, err
	}
	defer func() { _ = unix.Close(fd) }()
	if cookie, err = unix.GetsockoptUint64(fd, unix.SOL_SOCKET, unix.SO_NETNS_COOKIE); err != nil {
		return 0, 0, err
	}
	const newGen = unix.NFNL_SUBSYS_NFTABLES<<8 | unix.NFT_MSG_NEWGEN
	// nlmsghdr, then nfgenmsg (family AF_UNSPEC, NFNETLINK_V0, res_id 0).
	req := make([]byte, unix.NLMSG_HDRLEN+4)
	binary.NativeEndian.PutUint32(req[0:], uint32(len(req)))
	binary.NativeEndian.PutUint16(req[4:], unix.NFNL_SUBSYS_NFTABLES<<8|unix.NFT_MSG_GETGEN)
	binary.NativeEndian.PutUint16(req[6:], unix.NLM_F_REQUEST)
	binary.NativeEndian.PutUint32(req[8:], 1)
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return 0, 0, err
	}
	buf := make([]byte, 4096)
	size, _, err := unix.Recvfrom(fd, buf, 0)
	if err != nil {
		return 0, 0, err
	}
	msg := buf[:size]
	if len(msg) < unix.NLMSG_HDRLEN {
		return 0, 0, errors.New("short netlink answer")
	}
	msgLen := int(binary.NativeEndian.Uint32(msg[0:]))
	switch typ := binary.NativeEndian.Uint16(msg[4:]); {
	case msgLen < unix.NLMSG_HDRLEN || msgLen > len(msg):
		return 0, 0, errors.New("malformed netlink answer")
	case typ == unix.NLMSG_ERROR && msgLen >= unix.NLMSG_HDRLEN+4:
		return 0, 0, unix.Errno(-int32(binary.NativeEndian.Uint32(msg[unix.NLMSG_HDRLEN:])))
	case typ != newGen:
		return 0, 0, fmt.Errorf("unexpected netlink answer type %#x", typ)
	}
	// Attributes follow the 4-byte nfgenmsg; NFTA_GEN_ID is a big-endian u32.
	for attrs := msg[unix.NLMSG_HDRLEN+4 : msgLen]; len(attrs) >= unix.SizeofNlAttr; {
		l := int(binary.NativeEndian.Uint16(attrs[0:]))
		if l < unix.SizeofNlAttr || l > len(attrs) {
			break
		}
		if binary.NativeEndian.Uint16(attrs[2:])&^(unix.NLA_F_NESTED|unix.NLA_F_NET_BYTEORDER) == unix.NFTA_GEN_ID && l >= unix.SizeofNlAttr+4 {
			return cookie, binary.BigEndian.Uint32(attrs[unix.SizeofNlAttr:]), nil
		}
		attrs = attrs[min((l+unix.NLA_ALIGNTO-1)&^(unix.NLA_ALIGNTO-1), len(attrs)):]
	}
	return 0, 0, errors.New("netlink answer without a generation")
}
