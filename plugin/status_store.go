package main

import (
	"fmt"
	"path/filepath"

	"github.com/containernetworking/cni/pkg/types"

	"github.com/cnigate/cnigate/plugin/ipam"
)

// storeStatus is STATUS's look at what in the store would make every ADD
// fail though the store directory is sound (which ipam.Inspect checks):
// the store's lock or, with ipMasq, the rules' lock a symlink, a directory
// or another user's; a directory where a temporary file goes; and the bridge
// taken by another network of the data directory (bridgeclaim.go). Code 50
// saying which; nil when an ADD would get past them.
func storeStatus(n *NetConf) error {
	var locks []string
	if n.masquerade() {
		locks = append(locks, rulesLockFile)
	}
	if err := ipam.CheckFixedNames(n.DataDir, n.Name, locks...); err != nil {
		return types.NewError(errPluginUnavailable, fmt.Sprintf("IPAM store %s is unusable", filepath.Join(n.DataDir, n.Name)), err.Error())
	}
	if err := bridgeFree(n); err != nil {
		return types.NewError(errPluginUnavailable, fmt.Sprintf("bridge %q is another network's", n.Bridge), err.Error())
	}
	return nil
}
