package host

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strings"

	"github.com/coreos/go-iptables/iptables"

	"github.com/cnigate/cnigate/e2e/harness/nodenet"
)

// Hermetic mode: while a cluster the harness created exists, the host drops
// every forwarded packet that enters from the kind docker network's bridge and
// would leave by any other interface. Node <-> node and node <-> external host
// traffic stays on the bridge and is untouched; masqueraded pod traffic to an
// address nobody on this machine owns (a removed Service's IP, the internet) is
// dropped instead of leaving the machine. No cell may depend on the outside
// network to fail or to succeed.
const (
	hermeticTable = "filter"
	// DockerUserChain is Docker's chain for user rules, evaluated before its own
	// FORWARD rules.
	DockerUserChain = "DOCKER-USER"
	hermeticComment = "cnigate-e2e hermetic: "
)

// DockerNetworkBridge returns the host bridge interface of a docker network
// (br-<first 12 hex of the network ID> unless the network names its bridge).
func DockerNetworkBridge(ctx context.Context, network string) (string, error) {
	out, err := nodenet.Docker(ctx, "network", "inspect", "--format",
		`{{.Driver}} {{.Id}} {{index .Options "com.docker.network.bridge.name"}}`, network)
	if err != nil {
		return "", err
	}
	f := strings.Fields(out)
	if len(f) < 2 || f[0] != "bridge" {
		return "", fmt.Errorf("docker network %s: not a bridge network (%q)", network, out)
	}
	if len(f) == 3 {
		return f[2], nil
	}
	if len(f[1]) < 12 {
		return "", fmt.Errorf("docker network %s: short ID %q", network, f[1])
	}
	return "br-" + f[1][:12], nil
}

// HermeticRule returns the rule spec (without table and chain) for one cluster.
func HermeticRule(bridge, cluster string) []string {
	return []string{"-i", bridge, "!", "-o", bridge, "-m", "comment", "--comment", hermeticComment + cluster, "-j", "DROP"}
}

// hermeticChain is one place a hermetic rule goes: a table (IPv4 or IPv6)
// and its chain.
type hermeticChain struct {
	t     *iptables.IPTables
	chain string
}

// hermeticChains: IPv4's DOCKER-USER, and for IPv6 DOCKER-USER where Docker
// manages ip6tables, else the host's FORWARD chain itself. kind's network has
// an IPv6 subnet, and a host that forwards IPv6 (net.ipv6.conf.all.forwarding,
// on here) would route the nodes' IPv6 out of the machine, with nothing of
// Docker's in the way when Docker leaves ip6tables alone.
func hermeticChains() ([]hermeticChain, error) {
	v4, err := iptables.NewWithProtocol(iptables.ProtocolIPv4)
	if err != nil {
		return nil, fmt.Errorf("hermetic mode needs iptables on the host (or E2E_HERMETIC=0): %w", err)
	}
	out := []hermeticChain{{v4, DockerUserChain}}
	v6, err := iptables.NewWithProtocol(iptables.ProtocolIPv6)
	if err != nil {
		return nil, fmt.Errorf("hermetic mode needs ip6tables on the host (or E2E_HERMETIC=0): %w", err)
	}
	if ok, err := v6.ChainExists(hermeticTable, DockerUserChain); err == nil && ok {
		return append(out, hermeticChain{v6, DockerUserChain}), nil
	}
	return append(out, hermeticChain{v6, forwardChain}), nil
}

// command names the chain's tool, for messages.
func (c hermeticChain) command() string {
	if c.t.Proto() == iptables.ProtocolIPv6 {
		return "ip6tables"
	}
	return "iptables"
}

// forwardChain is where the IPv6 rule goes when ip6tables has no DOCKER-USER.
const forwardChain = "FORWARD"

// AddHermeticRule inserts the drop rule at the top of DOCKER-USER (IPv4, and
// IPv6 where Docker has that chain, else the top of ip6tables' FORWARD), once.
func AddHermeticRule(bridge, cluster string) error {
	chains, err := hermeticChains()
	if err != nil {
		return err
	}
	for _, c := range chains {
		ok, err := c.t.ChainExists(hermeticTable, c.chain)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("hermetic mode: no %s chain in the host's %v filter table (is Docker running with iptables?); E2E_HERMETIC=0 turns hermetic mode off", c.chain, c.t.Proto())
		}
		spec := HermeticRule(bridge, cluster)
		if ok, err := c.t.Exists(hermeticTable, c.chain, spec...); err != nil {
			return err
		} else if ok {
			continue
		}
		if err := c.t.Insert(hermeticTable, c.chain, 1, spec...); err != nil {
			return fmt.Errorf("hermetic rule (%v %s): %w", c.t.Proto(), c.chain, err)
		}
	}
	return nil
}

var ruleInterface = regexp.MustCompile(`(?:^|\s)-i (\S+)`)

// RemoveHermeticRules deletes every hermetic rule of cluster (all of them when
// cluster is ""), whatever bridge it names, and returns the rules it deleted
// (as listed: "iptables -A ..."). Absent rules are not an error.
func RemoveHermeticRules(cluster string) (removed []string, err error) {
	chains, err := hermeticChains()
	if errors.Is(err, exec.ErrNotFound) {
		return nil, nil // no iptables on the host: no rule of ours can be there
	}
	if err != nil {
		return nil, err
	}
	if v6 := chains[len(chains)-1]; v6.chain == DockerUserChain {
		// a rule may be left in FORWARD from before Docker managed ip6tables
		chains = append(chains, hermeticChain{v6.t, forwardChain})
	}
	var errs []error
	for _, c := range chains {
		t := c.t
		rules, err := t.List(hermeticTable, c.chain)
		if err != nil {
			var ie *iptables.Error
			if errors.As(err, &ie) && ie.IsNotExist() {
				continue
			}
			errs = append(errs, err)
			continue
		}
		for _, r := range rules {
			name, ok := HermeticRuleCluster(r)
			if !ok || (cluster != "" && name != cluster) {
				continue
			}
			m := ruleInterface.FindStringSubmatch(r)
			if m == nil {
				errs = append(errs, fmt.Errorf("hermetic rule without -i: %s", r))
				continue
			}
			spec := HermeticRule(m[1], name)
			// Delete, not DeleteIfExists: a listed rule our spec does not
			// match must not be reported as removed while it stays.
			if err := t.Delete(hermeticTable, c.chain, spec...); err != nil {
				errs = append(errs, fmt.Errorf("%s %s: not removed: %w", c.command(), r, err))
				continue
			}
			removed = append(removed, c.command()+" "+r)
		}
	}
	return removed, errors.Join(errs...)
}

var ruleComment = regexp.MustCompile(`--comment "?` + regexp.QuoteMeta(hermeticComment) + `([^"\s]+)"?`)

// HermeticRuleCluster returns the cluster a listed rule (iptables -S format)
// belongs to, if it is a hermetic rule.
func HermeticRuleCluster(rule string) (string, bool) {
	m := ruleComment.FindStringSubmatch(rule)
	if m == nil {
		return "", false
	}
	return m[1], true
}
