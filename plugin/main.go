package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/cni/pkg/version"
	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/cnigate/cnigate/internal/buildinfo"
	"github.com/cnigate/cnigate/plugin/ipam"
	"github.com/cnigate/cnigate/plugin/rules"
)

// podnet's own error codes (the CNI spec leaves 100 and up to plugins).
const (
	errPoolExhausted     uint = 100 // ADD: no free address in the subnet
	errAttachmentExists  uint = 101 // ADD: the (container, ifname) already has an address
	errCheckFailed       uint = 102 // CHECK: the attachment differs from prevResult
	errIfNameTaken       uint = 103 // ADD: CNI_IFNAME already exists in the pod netns
	errGCIncomplete      uint = 104 // GC: some host veths could not be removed
	errPluginUnavailable uint = 50  // STATUS: ADD would fail (spec code)
)

// supportedVersions are the spec versions podnet speaks; VERSION reports them.
var supportedVersions = version.PluginSupports("0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0")

const about = "podnet: bridge + veth pod networking with built-in locked IPAM"

func main() {
	oneP()
	// skel prints its usage and exits 0 without CNI_COMMAND; a runtime (or
	// script) that forgot to set it must see a failure.
	if os.Getenv("CNI_COMMAND") == "" {
		if len(os.Args) == 2 && os.Args[1] == "--version" { // outside the CNI protocol: which build a node runs
			fmt.Printf("podnet %s (commit %s, CNI spec versions %s)\n", buildinfo.Version(), buildinfo.Commit(), strings.Join(supportedVersions.SupportedVersions(), " "))
			return
		}
		_ = types.NewError(types.ErrInvalidEnvironmentVariables, "CNI_COMMAND is not set",
			about+"; it is run by a container runtime with CNI_COMMAND=ADD, DEL, CHECK, GC, STATUS or VERSION").Print()
		os.Exit(1)
	}
	skel.PluginMainFuncs(skel.CNIFuncs{
		Add:    traced(withEnvLimits(cmdAdd)),
		Del:    traced(withEnvLimits(cmdDel)),
		Check:  withEnvLimits(cmdCheck),
		GC:     cmdGC,
		Status: cmdStatus,
	}, supportedVersions, about)
}

// oneP runs the process with one P: a plugin process does one thing at a
// time (ns.Do's goroutine runs while its caller waits; a contended lock's
// goroutine while it waits), so a second P only feeds the scheduler's
// spinning threads, woken whenever a system call blocks long enough for the
// runtime to hand the P off. In a burst of 200 ADDs on 2 cores that cost 1.5
// times the context switches and 8% more CPU time per ADD
// (docs/measurements/2026-12-07-bench-tmpfs.md). GOMAXPROCS, when set,
// still rules.
func oneP() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
}

func attachmentOf(args *skel.CmdArgs) ipam.Attachment {
	return ipam.Attachment{ContainerID: args.ContainerID, IfName: args.IfName}
}

// openExistingStore opens the network's IPAM store without creating it, for
// commands that must change nothing when it is absent (DEL, GC, CHECK). A nil
// store with a nil error means this network never reserved anything here.
func openExistingStore(n *NetConf) (*ipam.Store, error) {
	store, err := ipam.Open(n.DataDir, n.Name, n.pools(), false)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, storeError("IPAM store unusable", err)
	}
	return store, nil
}

// storeError maps an IPAM store failure to its CNI code: 11 (try again later)
// when the lock stayed busy past its bound, else 5 (I/O).
func storeError(msg string, err error) *types.Error {
	if errors.Is(err, ipam.ErrBusy) {
		return types.NewError(types.ErrTryAgainLater, msg+": try again later", err.Error())
	}
	return types.NewError(types.ErrIOFailure, msg, err.Error())
}

// checkBridgeName fails when n's bridge name is taken by a device that is not
// a bridge: podnet would otherwise fail half-way through ADD. It returns the
// bridge, or nil when there is none yet.
func checkBridgeName(h netlinksafe.Handle, n *NetConf) (*netlink.Bridge, error) {
	l, err := h.LinkByName(n.Bridge)
	if errors.As(err, &netlink.LinkNotFoundError{}) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("looking up bridge %q: %w", n.Bridge, err)
	}
	br, ok := l.(*netlink.Bridge)
	if !ok {
		return nil, invalid("bridge", "%q exists and is a %s device, not a bridge", n.Bridge, l.Type())
	}
	return br, nil
}

func cmdAdd(args *skel.CmdArgs) (err error) {
	n, cniVersion, err := loadNetConf(args.StdinData)
	if err != nil {
		return err
	}
	phases.at("config")
	op := startOp(n, "ADD", args)
	defer func() { op.finish(err) }()

	// Everything that can be checked is checked before anything changes.
	netns, err := openPodNetNS(args.Netns)
	if err != nil {
		return err
	}
	defer func() { _ = netns.Close() }()
	// One netlink socket per netns for the whole ADD, instead of one per
	// request: hostH's in the host netns, podH's in the pod's.
	hostH, err := netlinksafe.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("netlink: %w", err)
	}
	defer hostH.Close()
	found, err := checkBridgeName(hostH, n)
	if err != nil {
		return err
	}
	podH, err := podHandle(netns)
	if err != nil {
		return err
	}
	defer podH.Close()
	if err := checkIfNameFree(podH, args.IfName); err != nil {
		return err
	}
	phases.at("netns-checks")

	// The store and the reservation's files are opened and made before the
	// data directory's claim, which every ADD of every network of the node
	// waits for: they create nothing anyone sees. A store that does not
	// exist yet is created under the claim (one bridge, one network: a
	// refused ADD makes nothing).
	a := attachmentOf(args)
	store, err := ipam.Open(n.DataDir, n.Name, n.pools(), false)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return storeError("IPAM store unusable", err)
	}
	var prepared *ipam.Prepared
	if store != nil {
		defer func() { _ = store.Close() }()
		if prepared, err = store.Prepare(a); err != nil {
			return storeError("IPAM reservation failed", err)
		}
		defer prepared.Close()
	}
	phases.at("store-open")
	claim, err := claimBridge(n) // one bridge, one network: refused before anything is made
	if err != nil {
		return err
	}
	defer claim.release()
	phases.at("datadir-claim")
	if store == nil {
		if store, err = ipam.Open(n.DataDir, n.Name, n.pools(), true); err != nil {
			return storeError("IPAM store unusable", err)
		}
		defer func() { _ = store.Close() }()
		if prepared, err = store.Prepare(a); err != nil {
			return storeError("IPAM reservation failed", err)
		}
		defer prepared.Close()
	}
	if err := claim.record(store); err != nil {
		return err
	}
	phases.at("record-bridge")

	addrs, err := store.ReservePrepared(prepared) // one per family, in n.families' order
	claim.release()                               // the reservation is in the store: other networks may look
	phases.at("reserve-unlock")
	var exhausted *ipam.PoolExhaustedError
	switch {
	case errors.As(err, &exhausted):
		return types.NewError(errPoolExhausted, fmt.Sprintf("no free IP address in subnet %s", exhausted.Subnet), err.Error())
	case errors.Is(err, ipam.ErrAlreadyReserved):
		return types.NewError(errAttachmentExists, fmt.Sprintf("container %q interface %q is already attached", a.ContainerID, a.IfName), err.Error())
	case err != nil:
		return storeError("IPAM reservation failed", err)
	}
	op.ips = addrs

	success := false
	var addedRules []rule
	defer func() {
		if success {
			return
		}
		// Device first, then the address (containernetworking/plugins#666).
		// Only the host end is deleted: it is ours by name and takes its peer
		// with it, while an interface that was already in the pod netns stays.
		if err := delLinkByName(hostVethName(n, a)); err != nil && !errors.Is(err, errLinkNotFound) {
			op.warn("rollback: %v", err)
		}
		if _, err := store.Release(a); err != nil {
			op.warn("rollback: %v", err)
		}
		if err := removeRulesIfUnused(store, addedRules); err != nil {
			op.warn("rollback: %v", err)
		}
	}()

	br, err := ensureBridge(hostH, n, store, found)
	if err != nil {
		return err
	}
	phases.at("bridge")
	podAddrs := make([]*net.IPNet, len(addrs))
	for i, f := range n.families {
		podAddrs[i] = &net.IPNet{IP: addrs[i], Mask: f.pool.Subnet.Mask}
	}
	hostIf, contIf, routesAdded, err := setupVeth(netns, hostH, podH, br, n, a, podAddrs)
	if err != nil {
		return err
	}
	phases.at("veth")
	if n.masquerade() {
		if addedRules, err = ensureRules(n, store); err != nil {
			return err
		}
		phases.at("iptables-stamp")
	}

	// The result is the prevResult of the next plugin of a chain (portmap,
	// bandwidth, tuning): the bridge and the host veth without a sandbox, the
	// pod interface with one, the addresses on the pod interface (one per
	// family), and exactly the routes podnet added.
	result := &current.Result{
		CNIVersion: current.ImplementedSpecVersion,
		Interfaces: []*current.Interface{
			{Name: br.Name, Mac: br.HardwareAddr.String()},
			hostIf,
			contIf,
		},
	}
	for i, f := range n.families {
		result.IPs = append(result.IPs, &current.IPConfig{
			Address:   *podAddrs[i],
			Gateway:   f.pool.Gateway,
			Interface: current.Int(2),
		})
		if routesAdded[i] {
			result.Routes = append(result.Routes, &types.Route{Dst: defaultDst(f), GW: f.pool.Gateway})
		}
	}
	if err := types.PrintResult(result, cniVersion); err != nil {
		return err
	}
	phases.at("result-json")
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
	phases.at("config")

	if err := refuseOwnNetNS(args.Netns); err != nil {
		return err
	}
	// The host end is podnet's by name (network, container, interface);
	// deleting it removes its peer in the pod, and nothing else of the pod's
	// is touched, not even an interface by the name CNI_IFNAME that podnet
	// did not create.
	a := attachmentOf(args)
	if err := delLinkByName(hostVethName(n, a)); err != nil && !errors.Is(err, errLinkNotFound) {
		return err
	}
	phases.at("veth-delete")
	store, err := openExistingStore(n)
	if store == nil {
		return err // nil: this network never reserved anything here
	}
	defer func() { _ = store.Close() }()
	phases.at("store-open")
	if op.ips, err = store.Release(a); err != nil {
		return storeError("IPAM release failed", err)
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

	keep, err := n.gcKeep()
	if err != nil {
		return err
	}
	store, err := openExistingStore(n)
	if store == nil {
		return err
	}
	defer func() { _ = store.Close() }()

	held, err := store.List()
	if err != nil {
		return storeError("IPAM listing failed", err)
	}
	// Devices before addresses, as in DEL. A device that cannot be removed
	// keeps its address (the next GC retries both); the others go on. The
	// runtime never runs GC concurrently with ADD or DEL, so the listing stays
	// true until the release.
	var linkErrs []error
	for _, a := range held { // one entry per address: a dual-stack attachment comes twice
		if keep[a] {
			continue
		}
		if err := delLinkByName(hostVethName(n, a)); err != nil && !errors.Is(err, errLinkNotFound) {
			linkErrs = append(linkErrs, fmt.Errorf("%s: %w", a, err))
			keep[a] = true
		}
	}
	freed, corrupt, err := store.ReleaseExcept(keep)
	if err != nil {
		return storeError("IPAM release failed", err)
	}
	op.note("released %d stale reservations and %d corrupt ones", len(freed), corrupt)
	if len(linkErrs) > 0 {
		return types.NewError(errGCIncomplete, fmt.Sprintf("GC could not remove %d host veths (their addresses stay reserved)", len(linkErrs)), errors.Join(linkErrs...).Error())
	}
	return nil
}

// Free space and inodes STATUS requires in the data directory's filesystem:
// a reservation is one small file (one block, one inode) plus a temporary one.
const (
	minFreeBlocks = 16
	minFreeInodes = 16
)

// cmdStatus answers at once whether an ADD could succeed. It takes no lock
// (the reservation count is read from the directory listing), creates
// nothing, and spawns no process except, with "nodeAgent" and "ipMasq",
// the iptables checks of the rules the agent keeps in place.
func cmdStatus(args *skel.CmdArgs) (err error) {
	n, _, err := loadNetConf(args.StdinData)
	if err != nil {
		return err
	}
	op := startOp(n, "STATUS", args)
	defer func() { op.finish(err) }()

	unavailable := func(msg string, detail error) error {
		return types.NewError(errPluginUnavailable, msg, detail.Error())
	}
	if n.masquerade() {
		for _, f := range n.families {
			if _, err := exec.LookPath(iptablesCommand(f)); err != nil {
				return unavailable(fmt.Sprintf(`"ipMasq" is on but no %s binary is in PATH`, iptablesCommand(f)), err)
			}
		}
	}
	if n.NodeAgent {
		if err := checkNodeAgent(n); err != nil {
			return err
		}
	}
	h, err := netlinksafe.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return unavailable("netlink is unusable", err)
	}
	defer h.Close()
	if _, err := checkBridgeName(h, n); err != nil {
		return unavailable(fmt.Sprintf("bridge %q is unusable", n.Bridge), err)
	}
	held, err := ipam.Inspect(n.DataDir, n.Name, n.pools())
	store := filepath.Join(n.DataDir, n.Name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		store = n.DataDir // nothing reserved yet; ADD will create the store
	case err != nil:
		return unavailable(fmt.Sprintf("data directory %s is unusable", n.DataDir), err)
	}
	if err := checkFilesystem(store); err != nil {
		return unavailable(fmt.Sprintf("data directory %s is unusable", n.DataDir), err)
	}
	if err := storeStatus(n); err != nil {
		return err
	}
	for i, f := range n.families {
		if held != nil && held[i] >= f.pool.Size() {
			return types.NewError(errPluginUnavailable, fmt.Sprintf("no free IP address in subnet %s", f.pool.Subnet),
				fmt.Sprintf("all %d addresses are reserved", f.pool.Size()))
		}
	}
	return nil
}

// checkNodeAgent fails (code 50) unless the node state podnet-agent owns is
// in place: its ready stamp, written after the first reconcile that put
// binaries, conf, routes and rules in place and kept until uninstall (it
// says the agent has completed a reconcile here since it was installed, not
// that the last one succeeded), and (with ipMasq) the rules themselves,
// checked live since a reboot or an iptables flush removes them.
func checkNodeAgent(n *NetConf) error {
	stamp := filepath.Join(rules.AgentDir(n.DataDir), rules.ReadyFile)
	if _, err := os.Stat(stamp); err != nil {
		return types.NewError(errPluginUnavailable,
			"podnet-agent has not completed a reconcile on this node since it was installed (no "+stamp+"): is its pod running here?", err.Error())
	}
	if !n.masquerade() {
		return nil
	}
	missing, err := missingRules(n)
	if err != nil {
		return types.NewError(errPluginUnavailable, "cannot check podnet's iptables rules", err.Error())
	}
	if len(missing) > 0 {
		var detail []string
		for _, r := range missing {
			detail = append(detail, r.Command()+" "+r.String())
		}
		return types.NewError(errPluginUnavailable,
			fmt.Sprintf("%d of podnet's iptables rules are missing (podnet-agent puts them back): is the podnet-agent pod running on this node?", len(missing)),
			strings.Join(detail, "; "))
	}
	return nil
}

// checkFilesystem fails when path (or, while it does not exist yet, its
// nearest existing ancestor) is not a directory on a writable filesystem with
// room for a reservation.
func checkFilesystem(path string) error {
	for {
		st, err := os.Stat(path)
		if errors.Is(err, fs.ErrNotExist) && path != "/" {
			path = filepath.Dir(path)
			continue
		}
		if err != nil {
			return err
		}
		if !st.IsDir() {
			return fmt.Errorf("%s is not a directory", path)
		}
		break
	}
	var fsst unix.Statfs_t
	if err := unix.Statfs(path, &fsst); err != nil {
		return &fs.PathError{Op: "statfs", Path: path, Err: err}
	}
	free := fsst.Bavail
	if os.Geteuid() == 0 {
		free = fsst.Bfree // root may use the reserved blocks
	}
	switch {
	case fsst.Flags&unix.ST_RDONLY != 0:
		return fmt.Errorf("%s is on a read-only filesystem", path)
	case free < minFreeBlocks:
		return fmt.Errorf("%s: no space left (%d free blocks)", path, free)
	case fsst.Files > 0 && fsst.Ffree < minFreeInodes: // Files 0: no inode limit (btrfs)
		return fmt.Errorf("%s: no inodes left (%d free)", path, fsst.Ffree)
	}
	return nil
}
