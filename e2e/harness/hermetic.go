package harness

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/coreos/go-iptables/iptables"
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
	out, err := Docker(ctx, "network", "inspect", "--format",
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

func hermeticTables() ([]*iptables.IPTables, error) {
	v4, err := iptables.NewWithProtocol(iptables.ProtocolIPv4)
	if err != nil {
		return nil, fmt.Errorf("hermetic mode needs iptables on the host (or E2E_HERMETIC=0): %w", err)
	}
	out := []*iptables.IPTables{v4}
	// IPv6: kind's network has an IPv6 subnet; Docker only manages ip6tables
	// (and creates DOCKER-USER there) when configured to. Without that chain
	// Docker forwards no IPv6 from its networks, so there is nothing to drop.
	if v6, err := iptables.NewWithProtocol(iptables.ProtocolIPv6); err == nil {
		if ok, err := v6.ChainExists(hermeticTable, DockerUserChain); err == nil && ok {
			out = append(out, v6)
		}
	}
	return out, nil
}

// AddHermeticRule inserts the drop rule at the top of DOCKER-USER (IPv4, and
// IPv6 where Docker has that chain), once.
func AddHermeticRule(bridge, cluster string) error {
	tables, err := hermeticTables()
	if err != nil {
		return err
	}
	for _, t := range tables {
		ok, err := t.ChainExists(hermeticTable, DockerUserChain)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("hermetic mode: no %s chain in the host's %v filter table (is Docker running with iptables?); E2E_HERMETIC=0 turns hermetic mode off", DockerUserChain, t.Proto())
		}
		spec := HermeticRule(bridge, cluster)
		if ok, err := t.Exists(hermeticTable, DockerUserChain, spec...); err != nil {
			return err
		} else if ok {
			continue
		}
		if err := t.Insert(hermeticTable, DockerUserChain, 1, spec...); err != nil {
			return fmt.Errorf("hermetic rule: %w", err)
		}
	}
	return nil
}

var ruleInterface = regexp.MustCompile(`(?:^|\s)-i (\S+)`)

// RemoveHermeticRules deletes every hermetic rule of cluster (all of them when
// cluster is ""), whatever bridge it names. Absent rules are not an error.
func RemoveHermeticRules(cluster string) error {
	tables, err := hermeticTables()
	if err != nil {
		return err
	}
	var errs []error
	for _, t := range tables {
		rules, err := t.List(hermeticTable, DockerUserChain)
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
			errs = append(errs, t.DeleteIfExists(hermeticTable, DockerUserChain, HermeticRule(m[1], name)...))
		}
	}
	return errors.Join(errs...)
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
