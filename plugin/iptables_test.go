package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cnigate/cnigate/plugin/ipam"
)

var errNotNFT = errors.New("iptables is not the nf_tables backend")

// TestEnsureRulesStamp runs ensureRules in a private netns: a check that finds
// every rule is stamped, and any ruleset change voids the stamp, so a deleted
// rule is put back by the next ADD.
func TestEnsureRulesStamp(t *testing.T) {
	for name, extra := range map[string]string{"ipv4": "", "dual": `,"network6":"fd00:98::/56","subnet6":"fd00:98:0:1::/64"`} {
		t.Run(name, func(t *testing.T) { testEnsureRulesStamp(t, extra) })
	}
}

func testEnsureRulesStamp(t *testing.T, extra string) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (creates a network namespace); make test runs it")
	}
	n, _, err := loadNetConf([]byte(`{"cniVersion":"1.0.0","name":"stamp","type":"podnet","network":"10.98.0.0/16","subnet":"10.98.1.0/24"` + extra + `}`))
	if err != nil {
		t.Fatal(err)
	}
	store, err := ipam.Open(t.TempDir(), n.Name, n.pools(), true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	stampPath := filepath.Join(store.Dir(), rulesStampFile)
	done := make(chan error, 1)
	go func() {
		// Never unlocked: the thread ends with the goroutine, and its netns with it.
		runtime.LockOSThread()
		done <- func() error {
			if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
				return err
			}
			if !nftBackends(n) || rulesStamp(n) == "" {
				return errNotNFT
			}
			expectRules := func(when string) error {
				missing, err := missingRules(n)
				if err == nil && len(missing) > 0 {
					err = errors.New(when + ": rules missing")
				}
				return err
			}
			// Installing changes the ruleset: nothing to vouch for yet.
			added, err := ensureRules(n, store)
			if err != nil {
				return err
			}
			if len(added) != len(masqueradeRules(n)) {
				return fmt.Errorf("first ADD reports %d rules added, want %d", len(added), len(masqueradeRules(n)))
			}
			if err := expectRules("first ADD"); err != nil {
				return err
			}
			if _, err := os.Stat(stampPath); !errors.Is(err, os.ErrNotExist) {
				return errors.New("stamp written by the ADD that installed the rules")
			}
			// The next check finds them all and stamps.
			if added, err := ensureRules(n, store); err != nil || len(added) != 0 {
				return fmt.Errorf("second ADD: added %v, %w; want nothing added", added, err)
			}
			if stamp, err := os.ReadFile(stampPath); err != nil || string(stamp) != rulesStamp(n) {
				return errors.New("second ADD left no current stamp")
			}
			// A ruleset change (of the last family's MASQUERADE rule) voids
			// the stamp; the next ADD puts the rule back.
			r := masqueradeRules(n)[len(masqueradeRules(n))-1]
			ipt, err := ruleTables{}.of(r)
			if err != nil {
				return err
			}
			if err := ipt.Delete(r.Table, r.Chain, r.Spec...); err != nil {
				return err
			}
			if stamp, _ := os.ReadFile(stampPath); string(stamp) == rulesStamp(n) {
				return errors.New("stamp still current after a rule was deleted")
			}
			if added, err := ensureRules(n, store); err != nil || len(added) != 1 {
				return fmt.Errorf("ADD after a rule was deleted: added %v, %w; want the one rule", added, err)
			}
			return expectRules("ADD after a rule was deleted")
		}()
	}()
	switch err := <-done; {
	case errors.Is(err, errNotNFT):
		t.Skip(err)
	case err != nil:
		t.Fatal(err)
	}
}

// TestRulesStampNamesTheBinary: the stamp names the file the iptables
// command leads to, so pointing the command at another binary (update-
// alternatives between the nf_tables and legacy backends) voids it, and
// nftBackends, which gates its writing, tells the backends apart.
func TestRulesStampNamesTheBinary(t *testing.T) {
	nft, legacy := "/usr/sbin/xtables-nft-multi", "/usr/sbin/xtables-legacy-multi"
	for _, bin := range []string{nft, legacy} {
		if _, err := os.Stat(bin); err != nil {
			t.Skipf("needs %s (Debian's iptables package): %v", bin, err)
		}
	}
	n, _, err := loadNetConf([]byte(`{"cniVersion":"1.0.0","name":"stamp","type":"podnet","network":"10.98.0.0/16","subnet":"10.98.1.0/24"}`))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	t.Setenv("PATH", dir)
	link := filepath.Join(dir, "iptables")
	point := func(target string) {
		t.Helper()
		_ = os.Remove(link)
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
	}
	point(nft)
	if !nftBackends(n) {
		t.Fatal("nftBackends: false for xtables-nft-multi")
	}
	before := rulesStamp(n)
	if before == "" || !strings.Contains(before, link+"@") {
		t.Fatalf("stamp %q does not name %s", before, link)
	}
	if again := rulesStamp(n); again != before {
		t.Fatalf("stamp changed with nothing changed: %q, then %q", before, again)
	}
	point(legacy)
	if nftBackends(n) {
		t.Fatal("nftBackends: true for xtables-legacy-multi")
	}
	if after := rulesStamp(n); after == before {
		t.Fatalf("stamp unchanged after iptables was pointed at another binary: %q", after)
	}
}
