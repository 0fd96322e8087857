package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/cni/pkg/version"
	"github.com/containernetworking/plugins/pkg/ip"
	"github.com/containernetworking/plugins/pkg/ns"

	"github.com/cnigate/cnigate/plugin/ipam"
)

// podnet's own error codes (the CNI spec leaves 100 and up to plugins).
const (
	errPoolExhausted     uint = 100 // ADD: no free address in the subnet
	errAttachmentExists  uint = 101 // ADD: the (container, ifname) already has an address
	errCheckFailed       uint = 102 // CHECK: the attachment differs from prevResult
	errPluginUnavailable uint = 50  // STATUS: ADD would fail (spec code)
)

// supportedVersions are the spec versions podnet speaks; VERSION reports them.
var supportedVersions = version.PluginSupports("0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0")

func main() {
	skel.PluginMainFuncs(skel.CNIFuncs{
		Add:    cmdAdd,
		Del:    cmdDel,
		Check:  cmdCheck,
		GC:     cmdGC,
		Status: cmdStatus,
	}, supportedVersions, "podnet: bridge + veth pod networking with built-in locked IPAM")
}

func attachmentOf(args *skel.CmdArgs) ipam.Attachment {
	return ipam.Attachment{ContainerID: args.ContainerID, IfName: args.IfName}
}

// openExistingStore opens the network's IPAM store without creating it, for
// commands that must change nothing when it is absent (DEL, GC, CHECK). A nil
// store with a nil error means this network never reserved anything here.
func openExistingStore(n *NetConf) (*ipam.Store, error) {
	store, err := ipam.Open(n.DataDir, n.Name, n.pool, false)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, ioError("IPAM store unusable", err)
	}
	return store, nil
}

func ioError(msg string, err error) *types.Error {
	return types.NewError(types.ErrIOFailure, msg, err.Error())
}

func cmdAdd(args *skel.CmdArgs) (err error) {
	n, cniVersion, err := loadNetConf(args.StdinData)
	if err != nil {
		return err
	}
	op := startOp(n, "ADD", args)
	defer func() { op.finish(err) }()

	netns, err := ns.GetNS(args.Netns)
	if err != nil {
		return types.NewError(types.ErrInvalidNetNS, fmt.Sprintf("failed to open netns %q", args.Netns), err.Error())
	}
	defer func() { _ = netns.Close() }()

	store, err := ipam.Open(n.DataDir, n.Name, n.pool, true)
	if err != nil {
		return ioError("IPAM store unusable", err)
	}
	defer func() { _ = store.Close() }()

	a := attachmentOf(args)
	addr, err := store.Reserve(a)
	switch {
	case errors.Is(err, ipam.ErrPoolExhausted):
		return types.NewError(errPoolExhausted, fmt.Sprintf("no free IP address in subnet %s", n.pool.Subnet), err.Error())
	case errors.Is(err, ipam.ErrAlreadyReserved):
		return types.NewError(errAttachmentExists, fmt.Sprintf("container %q interface %q is already attached", a.ContainerID, a.IfName), err.Error())
	case err != nil:
		return ioError("IPAM reservation failed", err)
	}
	op.ip = addr

	success := false
	defer func() {
		if success {
			return
		}
		// Device first, then the address (containernetworking/plugins#666).
		// Only the host end is deleted: it is ours by name and takes its peer
		// with it, while an interface that was already in the pod netns stays.
		if err := ip.DelLinkByName(hostVethName(a)); err != nil && !errors.Is(err, ip.ErrLinkNotFound) {
			op.note("rollback: %v", err)
		}
		if _, err := store.Release(a); err != nil {
			op.note("rollback: %v", err)
		}
	}()

	br, err := ensureBridge(n)
	if err != nil {
		return err
	}
	podAddr := &net.IPNet{IP: addr, Mask: n.pool.Subnet.Mask}
	hostIf, contIf, err := setupVeth(netns, br, n, a, podAddr)
	if err != nil {
		return err
	}
	if n.masquerade() {
		if err := ensureRules(n, store.Dir()); err != nil {
			return err
		}
	}

	result := &current.Result{
		CNIVersion: current.ImplementedSpecVersion,
		Interfaces: []*current.Interface{
			{Name: br.Name, Mac: br.HardwareAddr.String()},
			hostIf,
			contIf,
		},
		IPs: []*current.IPConfig{{
			Address:   *podAddr,
			Gateway:   n.pool.Gateway,
			Interface: current.Int(2),
		}},
		Routes: []*types.Route{{
			Dst: net.IPNet{IP: net.IPv4zero, Mask: net.CIDRMask(0, 32)},
			GW:  n.pool.Gateway,
		}},
	}
	if err := types.PrintResult(result, cniVersion); err != nil {
		return err
	}
	success = true
	return nil
}

func cmdDel(args *skel.CmdArgs) (err error) {
	n, _, err := loadNetConf(args.StdinData)
	if err != nil {
		return err
	}
	op := startOp(n, "DEL", args)
	defer func() { op.finish(err) }()

	a := attachmentOf(args)
	if err := teardownVeth(args.Netns, a); err != nil {
		return err
	}
	store, err := openExistingStore(n)
	if store == nil {
		return err // nil: this network never reserved anything here
	}
	defer func() { _ = store.Close() }()
	if op.ip, err = store.Release(a); err != nil {
		return ioError("IPAM release failed", err)
	}
	return nil
}

func cmdGC(args *skel.CmdArgs) (err error) {
	n, _, err := loadNetConf(args.StdinData)
	if err != nil {
		return err
	}
	op := startOp(n, "GC", args)
	defer func() { op.finish(err) }()

	keep := map[ipam.Attachment]bool{}
	for _, v := range append(n.ValidAttachments, n.Attachments...) {
		keep[ipam.Attachment{ContainerID: v.ContainerID, IfName: v.IfName}] = true
	}
	store, err := openExistingStore(n)
	if store == nil {
		return err
	}
	defer func() { _ = store.Close() }()

	held, err := store.List()
	if err != nil {
		return ioError("IPAM listing failed", err)
	}
	// Devices before addresses, as in DEL. The runtime never runs GC
	// concurrently with ADD or DEL, so the listing stays true until the release.
	for _, a := range held {
		if keep[a] {
			continue
		}
		if err := ip.DelLinkByName(hostVethName(a)); err != nil && !errors.Is(err, ip.ErrLinkNotFound) {
			return err
		}
	}
	freed, err := store.ReleaseExcept(keep)
	if err != nil {
		return ioError("IPAM release failed", err)
	}
	op.note("released %d stale reservations", len(freed))
	return nil
}

func cmdStatus(args *skel.CmdArgs) (err error) {
	n, _, err := loadNetConf(args.StdinData)
	if err != nil {
		return err
	}
	op := startOp(n, "STATUS", args)
	defer func() { op.finish(err) }()

	unusable := func(err error) error {
		return types.NewError(errPluginUnavailable, fmt.Sprintf("data directory %s is unusable", n.DataDir), err.Error())
	}
	store, err := ipam.Open(n.DataDir, n.Name, n.pool, true)
	if err != nil {
		return unusable(err)
	}
	defer func() { _ = store.Close() }()
	held, err := store.List()
	if err != nil {
		return unusable(err)
	}
	if len(held) >= n.pool.Size() {
		return types.NewError(errPluginUnavailable, fmt.Sprintf("no free IP address in subnet %s", n.pool.Subnet),
			fmt.Sprintf("all %d addresses are reserved", n.pool.Size()))
	}
	return nil
}
