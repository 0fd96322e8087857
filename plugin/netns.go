package main

import (
	"errors"
	"fmt"
	"runtime"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// ownNetNSPath is the calling thread's netns (/proc/self/ns/net is the main
// thread's, which may differ while another thread is inside a pod netns).
const ownNetNSPath = "/proc/thread-self/ns/net"

// openPodNetNS opens CNI_NETNS for ADD and CHECK. It fails with code 8 unless
// the path is a network namespace other than the plugin's own: configuring
// "the pod" in the plugin's netns would change the host itself.
func openPodNetNS(path string) (ns.NetNS, error) {
	netns, err := ns.GetNS(path)
	if err != nil {
		return nil, types.NewError(types.ErrInvalidNetNS, fmt.Sprintf("CNI_NETNS %q is not a network namespace", path), err.Error())
	}
	if err := checkPodNetNS(int(netns.Fd()), path); err != nil {
		_ = netns.Close()
		return nil, err
	}
	return netns, nil
}

// checkPodNetNS fails with code 8 when fd (opened from path) is not a network
// namespace (ns.GetNS accepts any file on procfs) or is the plugin's own.
func checkPodNetNS(fd int, path string) error {
	nsType, err := unix.IoctlRetInt(fd, unix.NS_GET_NSTYPE)
	if err != nil || nsType != unix.CLONE_NEWNET {
		detail := "not a namespace file"
		if err == nil {
			detail = fmt.Sprintf("a namespace of type %#x, not a network namespace", nsType)
		}
		return types.NewError(types.ErrInvalidNetNS, fmt.Sprintf("CNI_NETNS %q is not a network namespace", path), detail)
	}
	own, err := isOwnNetNS(fd)
	if err != nil {
		return types.NewError(types.ErrInvalidNetNS, "cannot compare CNI_NETNS with the plugin's own network namespace", err.Error())
	}
	if own {
		return types.NewError(types.ErrInvalidNetNS, fmt.Sprintf("CNI_NETNS %q is the plugin's own network namespace, not a pod's", path), "")
	}
	return nil
}

// isOwnNetNS reports whether the namespace file fd is the calling thread's
// network namespace (same nsfs device and inode).
func isOwnNetNS(fd int) (bool, error) {
	var pod, own unix.Stat_t
	if err := unix.Fstat(fd, &pod); err != nil {
		return false, err
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := unix.Stat(ownNetNSPath, &own); err != nil {
		return false, fmt.Errorf("stat %s: %w", ownNetNSPath, err)
	}
	return pod.Dev == own.Dev && pod.Ino == own.Ino, nil
}

// refuseOwnNetNS is DEL's netns check: an empty, missing or non-namespace
// CNI_NETNS is fine (the pod is gone, and DEL must succeed), the plugin's own
// netns is not (code 8).
func refuseOwnNetNS(path string) error {
	if path == "" {
		return nil
	}
	netns, err := ns.GetNS(path)
	var notExist ns.NSPathNotExistErr
	var notNS ns.NSPathNotNSErr
	switch {
	case errors.As(err, &notExist), errors.As(err, &notNS):
		return nil
	case err != nil:
		return types.NewError(types.ErrInvalidNetNS, fmt.Sprintf("cannot open CNI_NETNS %q", path), err.Error())
	}
	defer func() { _ = netns.Close() }()
	own, err := isOwnNetNS(int(netns.Fd()))
	if err != nil {
		return types.NewError(types.ErrInvalidNetNS, "cannot compare CNI_NETNS with the plugin's own network namespace", err.Error())
	}
	if own {
		return types.NewError(types.ErrInvalidNetNS, fmt.Sprintf("CNI_NETNS %q is the plugin's own network namespace, not a pod's", path), "")
	}
	return nil
}

// podHandle opens a netlink handle in the pod netns (one netns switch, in
// a thread of its own that ns.Do never returns to the pool in the wrong
// netns). Its socket stays in the pod netns whichever thread uses it, so the
// interface check and the veth setup work through it with no further switch.
func podHandle(netns ns.NetNS) (netlinksafe.Handle, error) {
	var h netlinksafe.Handle
	err := netns.Do(func(ns.NetNS) error {
		var err error
		h, err = netlinksafe.NewHandle(unix.NETLINK_ROUTE)
		return err
	})
	if err != nil {
		return h, fmt.Errorf("netlink in the pod netns: %w", err)
	}
	return h, nil
}

// checkIfNameFree fails with errIfNameTaken when the pod (podH's netns)
// already has an interface named ifName: ADD would fail half-way, and that
// interface is not podnet's to replace.
func checkIfNameFree(podH netlinksafe.Handle, ifName string) error {
	_, err := podH.LinkByName(ifName)
	switch {
	case err == nil:
		return types.NewError(errIfNameTaken, fmt.Sprintf("CNI_IFNAME %q already exists in the pod netns", ifName), "")
	case errors.As(err, &netlink.LinkNotFoundError{}):
		return nil
	default:
		return fmt.Errorf("looking up %q in the pod netns: %w", ifName, err)
	}
}
