package main

import (
	"os"
	"strings"

	"github.com/cnigate/cnigate/plugin/ipam"
)

// One bridge, one network. Each network keeps its own store, so two
// networks (two conflists, e.g. one left over from a rename) naming the same
// bridge and subnet would each hand out the subnet's first address: two pods
// with one IP on one L2 segment. Every network's store records its bridge;
// an ADD is refused (code 7, naming the other network) while another network
// of the same dataDir records the bridge and still holds an address, and
// takes the bridge over once that network's pods are all deleted.

// bridgeClaim holds the data directory's lock from the check to the end of
// the reservation, so that no other network's ADD reserves in between.
type bridgeClaim struct {
	n    *NetConf
	lock *os.File
}

// claimBridge refuses n's bridge when another network of its dataDir uses
// it, before anything is created. Otherwise the caller reserves, then
// releases the claim.
func claimBridge(n *NetConf) (*bridgeClaim, error) {
	lock, err := ipam.LockDataDir(n.DataDir)
	if err != nil {
		return nil, storeError("IPAM data directory unusable", err)
	}
	c := &bridgeClaim{n: n, lock: lock}
	if err := bridgeFree(n); err != nil {
		c.release()
		return nil, err
	}
	return c, nil
}

// bridgeFree is nil when no other network of n's dataDir records n's bridge
// while holding addresses; else code 7 naming it. (STATUS asks it too.)
func bridgeFree(n *NetConf) error {
	users, err := ipam.BridgeUsers(n.DataDir, n.Bridge, n.Name)
	switch {
	case err != nil:
		return storeError("IPAM data directory unusable", err)
	case len(users) > 0:
		return invalid("bridge", "%q is the bridge of network %q (in %s), which still holds addresses on it; two networks on one bridge would hand out the same addresses: give network %q its own bridge, or delete %s's pods first",
			n.Bridge, strings.Join(users, `", "`), n.DataDir, n.Name, strings.Join(users, ", "))
	}
	return nil
}

// record notes n's bridge in its store, under the claim.
func (c *bridgeClaim) record(store *ipam.Store) error {
	if err := store.RecordBridge(c.n.Bridge); err != nil {
		return storeError("IPAM store: recording the bridge", err)
	}
	return nil
}

// release drops the claim; calling it again does nothing.
func (c *bridgeClaim) release() {
	if c.lock != nil {
		_ = c.lock.Close()
		c.lock = nil
	}
}
