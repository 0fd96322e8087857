package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/containernetworking/plugins/pkg/testutils"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/cnigate/cnigate/plugin/ipam"
)

// inHostNetNS runs f on a thread in a new network namespace standing in for
// the node, so that links, addresses and iptables rules never touch the
// machine's. The thread is never unlocked: it ends with f, and its netns too.
func inHostNetNS(t *testing.T, f func() error) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (creates network namespaces); make test runs it as root")
	}
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			done <- err
			return
		}
		done <- f()
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// podNetNS creates a pod netns, removed when the test ends.
func podNetNS(t *testing.T) ns.NetNS {
	t.Helper()
	pod, err := testutils.NewNS()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = pod.Close()
		_ = testutils.UnmountNS(pod)
	})
	return pod
}

// testConf is a network config; extra is appended inside the object.
type testConf struct {
	name, network, subnet, bridge, dataDir, extra string
}

func (c testConf) json() []byte {
	return fmt.Appendf(nil, `{"cniVersion":"1.1.0","name":%q,"type":"podnet","network":%q,"subnet":%q,"bridge":%q,"dataDir":%q%s}`,
		c.name, c.network, c.subnet, c.bridge, c.dataDir, c.extra)
}

func newTestConf(t *testing.T) testConf {
	return testConf{name: "net-a", network: "10.97.0.0/16", subnet: "10.97.1.0/24", bridge: "pnbr-a", dataDir: filepath.Join(t.TempDir(), "data")}
}

// call runs a podnet command like skel would and returns what it printed.
func call(cmd func(*skel.CmdArgs) error, conf []byte, netns, containerID, ifName string) (string, error) {
	out, err := os.CreateTemp("", "podnet-stdout")
	if err != nil {
		return "", err
	}
	defer func() { _ = os.Remove(out.Name()); _ = out.Close() }()
	saved := os.Stdout
	os.Stdout = out
	cmdErr := cmd(&skel.CmdArgs{ContainerID: containerID, Netns: netns, IfName: ifName, StdinData: conf})
	os.Stdout = saved
	printed, err := os.ReadFile(out.Name())
	if err != nil {
		return "", err
	}
	return string(printed), cmdErr
}

func addResult(printed string) (*current.Result, error) {
	r := &current.Result{}
	if err := json.Unmarshal([]byte(printed), r); err != nil {
		return nil, fmt.Errorf("ADD printed %q: %w", printed, err)
	}
	return r, nil
}

// wantCode checks that err is a CNI error with code and a message containing mention.
func wantCode(err error, code uint, mention string) error {
	var cniErr *types.Error
	if !errors.As(err, &cniErr) || cniErr.Code != code || !strings.Contains(cniErr.Msg, mention) {
		return fmt.Errorf("got %w, want code %d mentioning %q", err, code, mention)
	}
	return nil
}

// linkNames lists the links of the current netns.
func linkNames() ([]string, error) {
	links, err := netlinksafe.LinkList()
	if err != nil {
		return nil, err
	}
	var names []string
	for _, l := range links {
		names = append(names, l.Attrs().Name)
	}
	slices.Sort(names)
	return names, nil
}

// addNonBridge creates a link that is not a bridge (a veth: this kernel may
// lack the dummy driver).
func addNonBridge(name string) error {
	attrs := netlink.NewLinkAttrs()
	attrs.Name = name
	return netlink.LinkAdd(&netlink.Veth{LinkAttrs: attrs, PeerName: name + "p"})
}

// addUpNonBridge is addNonBridge, then the link set up; it returns the link.
func addUpNonBridge(name string) (netlink.Link, error) {
	if err := addNonBridge(name); err != nil {
		return nil, err
	}
	l, err := netlinksafe.LinkByName(name)
	if err != nil {
		return nil, err
	}
	return l, netlink.LinkSetUp(l)
}

func TestOwnNetNSRefused(t *testing.T) {
	c := newTestConf(t)
	inHostNetNS(t, func() error {
		before, err := linkNames()
		if err != nil {
			return err
		}
		own := "/proc/thread-self/ns/net"
		// lo is the host's: the bug deleted the host interface named by CNI_IFNAME.
		for name, cmd := range map[string]func(*skel.CmdArgs) error{"ADD": cmdAdd, "DEL": cmdDel, "CHECK": cmdCheck} {
			conf := c
			if name == "CHECK" {
				conf.extra = `,"prevResult":{"cniVersion":"1.1.0","interfaces":[{"name":"lo","sandbox":"x"}],"ips":[{"address":"10.97.1.2/24","interface":0}]}`
			}
			if _, err := call(cmd, conf.json(), own, "c1", "lo"); wantCode(err, types.ErrInvalidNetNS, "own network namespace") != nil {
				return fmt.Errorf("%s: %w", name, wantCode(err, types.ErrInvalidNetNS, "own network namespace"))
			}
		}
		after, err := linkNames()
		if err != nil {
			return err
		}
		if !slices.Equal(before, after) {
			return fmt.Errorf("links changed: %v -> %v", before, after)
		}
		if _, err := os.Stat(c.dataDir); !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("data dir created: %w", err)
		}
		return nil
	})
}

func TestAddValidatesBeforeChanging(t *testing.T) {
	notNS := filepath.Join(t.TempDir(), "not-a-netns")
	if err := os.WriteFile(notNS, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		setup   func(c *testConf, pod ns.NetNS) (netns string, err error)
		code    uint
		mention string
	}{
		{"bridge names a non-bridge", func(c *testConf, pod ns.NetNS) (string, error) {
			return pod.Path(), addNonBridge(c.bridge)
		}, types.ErrInvalidNetworkConfig, `"bridge"`},
		{"CNI_IFNAME exists in the pod", func(c *testConf, pod ns.NetNS) (string, error) {
			return pod.Path(), pod.Do(func(ns.NetNS) error { return addNonBridge("eth0") })
		}, errIfNameTaken, `"eth0"`},
		{"CNI_NETNS a regular file", func(c *testConf, pod ns.NetNS) (string, error) {
			return notNS, nil
		}, types.ErrInvalidNetNS, "not a network namespace"},
		{"CNI_NETNS a procfs file that is no namespace", func(c *testConf, pod ns.NetNS) (string, error) {
			return "/proc/self/status", nil
		}, types.ErrInvalidNetNS, "not a network namespace"},
		{"CNI_NETNS a mount namespace", func(c *testConf, pod ns.NetNS) (string, error) {
			return "/proc/self/ns/mnt", nil
		}, types.ErrInvalidNetNS, "not a network namespace"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestConf(t)
			pod := podNetNS(t)
			inHostNetNS(t, func() error {
				netns, err := tt.setup(&c, pod)
				if err != nil {
					return err
				}
				before, err := linkNames()
				if err != nil {
					return err
				}
				if _, err := call(cmdAdd, c.json(), netns, "c1", "eth0"); wantCode(err, tt.code, tt.mention) != nil {
					return wantCode(err, tt.code, tt.mention)
				}
				after, err := linkNames()
				if err != nil {
					return err
				}
				if !slices.Equal(before, after) {
					return fmt.Errorf("links changed: %v -> %v", before, after)
				}
				if _, err := os.Stat(c.dataDir); !errors.Is(err, os.ErrNotExist) {
					return fmt.Errorf("data dir created: %w", err)
				}
				return nil
			})
		})
	}
}

func TestDelLeavesAForeignInterfaceAlone(t *testing.T) {
	c := newTestConf(t)
	pod := podNetNS(t)
	inHostNetNS(t, func() error {
		if err := pod.Do(func(ns.NetNS) error { return addNonBridge("eth0") }); err != nil {
			return err
		}
		if _, err := call(cmdAdd, c.json(), pod.Path(), "c1", "eth0"); wantCode(err, errIfNameTaken, "eth0") != nil {
			return wantCode(err, errIfNameTaken, "eth0")
		}
		// The runtime DELs after a failed ADD.
		if _, err := call(cmdDel, c.json(), pod.Path(), "c1", "eth0"); err != nil {
			return err
		}
		return pod.Do(func(ns.NetNS) error {
			_, err := netlinksafe.LinkByName("eth0")
			return err
		})
	})
}

// TestAddReplacesALeftoverHostEnd: a host veth by the attachment's name
// (left by an ADD killed after making the pair, whose reservation a GC then
// released) is removed by the next ADD of that attachment, which succeeds;
// an interface by CNI_IFNAME in the pod is refused as before.
func TestAddReplacesALeftoverHostEnd(t *testing.T) {
	c := newTestConf(t)
	pod := podNetNS(t)
	inHostNetNS(t, func() error {
		n, _, err := loadNetConf(c.json())
		if err != nil {
			return err
		}
		left := hostVethName(n, ipam.Attachment{ContainerID: "c1", IfName: "eth0"})
		if err := addNonBridge(left); err != nil {
			return err
		}
		printed, err := call(cmdAdd, c.json(), pod.Path(), "c1", "eth0")
		if err != nil {
			return fmt.Errorf("ADD with a leftover host end: %w", err)
		}
		r, err := addResult(printed)
		if err != nil {
			return err
		}
		if r.Interfaces[1].Name != left || r.Interfaces[2].Mac == "" {
			return fmt.Errorf("result interfaces %+v, want the host end %s and the pod end's MAC", r.Interfaces, left)
		}
		names, err := linkNames()
		if err != nil {
			return err
		}
		if slices.Contains(names, left+"p") {
			return fmt.Errorf("the leftover pair is still there: %v", names)
		}
		return pod.Do(func(ns.NetNS) error {
			l, err := netlinksafe.LinkByName("eth0")
			if err != nil {
				return err
			}
			if got := l.Attrs().HardwareAddr.String(); got != r.Interfaces[2].Mac {
				return fmt.Errorf("the pod end's MAC is %s, the result says %s", got, r.Interfaces[2].Mac)
			}
			return nil
		})
	})
}

func TestSecondInterfaceAndSecondNetwork(t *testing.T) {
	a := newTestConf(t)
	b := testConf{name: "net-b", network: "10.96.0.0/16", subnet: "10.96.1.0/24", bridge: "pnbr-b", dataDir: a.dataDir}
	pod, otherPod := podNetNS(t), podNetNS(t)
	inHostNetNS(t, func() error {
		a.extra, b.extra = `,"ipMasq":false`, `,"ipMasq":false`
		first, err := call(cmdAdd, a.json(), pod.Path(), "c1", "eth0")
		if err != nil {
			return err
		}
		second, err := call(cmdAdd, a.json(), pod.Path(), "c1", "net1")
		if err != nil {
			return fmt.Errorf("second interface: %w", err)
		}
		r1, err := addResult(first)
		if err != nil {
			return err
		}
		r2, err := addResult(second)
		if err != nil {
			return err
		}
		if len(r1.Routes) != 1 || len(r2.Routes) != 0 {
			return fmt.Errorf("routes in the results: first %v, second %v; want the default route only in the first", r1.Routes, r2.Routes)
		}
		if err := pod.Do(func(ns.NetNS) error {
			routes, err := netlinksafe.RouteList(nil, netlink.FAMILY_V4)
			if err != nil {
				return err
			}
			defaults := 0
			for _, r := range routes {
				if r.Dst == nil || r.Dst.String() == "0.0.0.0/0" {
					defaults++
				}
			}
			if defaults != 1 {
				return fmt.Errorf("pod has %d default routes, want 1", defaults)
			}
			return nil
		}); err != nil {
			return err
		}
		// Both CHECK against their own results.
		for ifName, printed := range map[string]string{"eth0": first, "net1": second} {
			conf := a
			conf.extra += `,"prevResult":` + printed
			if _, err := call(cmdCheck, conf.json(), pod.Path(), "c1", ifName); err != nil {
				return fmt.Errorf("CHECK %s: %w", ifName, err)
			}
		}
		// The same container ID and interface in another network (and pod).
		if _, err := call(cmdAdd, b.json(), otherPod.Path(), "c1", "eth0"); err != nil {
			return fmt.Errorf("ADD in network b: %w", err)
		}
		if _, err := call(cmdDel, b.json(), otherPod.Path(), "c1", "eth0"); err != nil {
			return err
		}
		hostA := hostVethName(mustConf(a), ipam.Attachment{ContainerID: "c1", IfName: "eth0"})
		if _, err := netlinksafe.LinkByName(hostA); err != nil {
			return fmt.Errorf("DEL in network b removed network a's host veth %s: %w", hostA, err)
		}
		for _, ifName := range []string{"eth0", "net1"} {
			if _, err := call(cmdDel, a.json(), pod.Path(), "c1", ifName); err != nil {
				return err
			}
		}
		return nil
	})
}

func mustConf(c testConf) *NetConf {
	n, _, err := loadNetConf(c.json())
	if err != nil {
		panic(err)
	}
	return n
}

func TestHairpinMode(t *testing.T) {
	for _, hairpin := range []bool{true, false} {
		t.Run(fmt.Sprint("hairpinMode=", hairpin), func(t *testing.T) {
			c := newTestConf(t)
			c.extra = fmt.Sprintf(`,"ipMasq":false,"hairpinMode":%v`, hairpin)
			pod := podNetNS(t)
			inHostNetNS(t, func() error {
				printed, err := call(cmdAdd, c.json(), pod.Path(), "c1", "eth0")
				if err != nil {
					return err
				}
				host, err := netlinksafe.LinkByName(hostVethName(mustConf(c), ipam.Attachment{ContainerID: "c1", IfName: "eth0"}))
				if err != nil {
					return err
				}
				port, err := netlinksafe.LinkGetProtinfo(host)
				if err != nil {
					return err
				}
				if port.Hairpin != hairpin {
					return fmt.Errorf("port hairpin %v, want %v", port.Hairpin, hairpin)
				}
				check := c
				check.extra += `,"prevResult":` + printed
				if _, err := call(cmdCheck, check.json(), pod.Path(), "c1", "eth0"); err != nil {
					return fmt.Errorf("CHECK after ADD: %w", err)
				}
				if err := netlink.LinkSetHairpin(host, !hairpin); err != nil {
					return err
				}
				_, err = call(cmdCheck, check.json(), pod.Path(), "c1", "eth0")
				return wantCode(err, errCheckFailed, "hairpin")
			})
		})
	}
}

func TestAdoptedBridgeMACIsPinned(t *testing.T) {
	c := newTestConf(t)
	c.extra = `,"ipMasq":false`
	pod := podNetNS(t)
	inHostNetNS(t, func() error {
		// Made by hand, as the tutorial does: its MAC follows its ports.
		attrs := netlink.NewLinkAttrs()
		attrs.Name = c.bridge
		if err := netlink.LinkAdd(&netlink.Bridge{LinkAttrs: attrs}); err != nil {
			return err
		}
		if _, err := call(cmdAdd, c.json(), pod.Path(), "c1", "eth0"); err != nil {
			return err
		}
		br, err := bridgeByName(perRequest, c.bridge)
		if err != nil {
			return err
		}
		// A port with the lowest possible MAC would become the bridge's MAC
		// if it were not pinned.
		low := netlink.NewLinkAttrs()
		low.Name, low.HardwareAddr = "lowmac", net.HardwareAddr{0, 0, 0, 0, 0, 1}
		low.MasterIndex = br.Index
		if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: low, PeerName: "lowmac-peer"}); err != nil {
			return err
		}
		after, err := bridgeByName(perRequest, c.bridge)
		if err != nil {
			return err
		}
		if after.HardwareAddr.String() != br.HardwareAddr.String() {
			return fmt.Errorf("bridge MAC changed from %s to %s when a port joined", br.HardwareAddr, after.HardwareAddr)
		}
		return nil
	})
}

func TestFailedAddRemovesOnlyItsRules(t *testing.T) {
	for _, fc := range familyConfs {
		t.Run(fc.name, func(t *testing.T) { testFailedAddRemovesOnlyItsRules(t, familyConf(t, fc.extra, fc.v4)) })
	}
}

func testFailedAddRemovesOnlyItsRules(t *testing.T, c testConf) {
	inHostNetNS(t, func() error {
		n, _, err := loadNetConf(c.jsonFamilies())
		if err != nil {
			return err
		}
		store, err := ipam.Open(c.dataDir, n.Name, n.pools(), true)
		if err != nil {
			return err
		}
		defer func() { _ = store.Close() }()
		rules := masqueradeRules(n)
		ipt, err := ruleTables{}.of(rules[0])
		if err != nil {
			return err
		}
		// One rule was there before this ADD: it is not the ADD's to remove.
		if err := ipt.Append(rules[0].Table, rules[0].Chain, rules[0].Spec...); err != nil {
			return err
		}
		added, err := ensureRules(n, store)
		if err != nil {
			return err
		}
		if len(added) != len(rules)-1 {
			return fmt.Errorf("ensureRules added %v, want the %d missing rules", added, len(rules)-1)
		}
		// Another attachment holds an address: it needs the rules.
		other := ipam.Attachment{ContainerID: "other", IfName: "eth0"}
		if _, err := store.Reserve(other); err != nil {
			return err
		}
		if err := removeRulesIfUnused(store, added); err != nil {
			return err
		}
		if missing, err := missingRules(n); err != nil || len(missing) != 0 {
			return fmt.Errorf("rules removed while in use: %v, %w", missing, err)
		}
		if _, err := store.Release(other); err != nil {
			return err
		}
		if err := removeRulesIfUnused(store, added); err != nil {
			return err
		}
		missing, err := missingRules(n)
		if err != nil {
			return err
		}
		if fmt.Sprint(missing) != fmt.Sprint(rules[1:]) {
			return fmt.Errorf("after the rollback these rules are missing: %v; want exactly the %d the ADD added", missing, len(rules)-1)
		}
		return nil
	})
}

func TestStatus(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, c *testConf) error
		code    uint // 0: ready
		mention string
	}{
		{"fresh node", func(t *testing.T, c *testConf) error { return nil }, 0, ""},
		{"no iptables binary", func(t *testing.T, c *testConf) error {
			t.Setenv("PATH", t.TempDir())
			return nil
		}, errPluginUnavailable, "iptables"},
		{"no iptables binary, ipMasq off", func(t *testing.T, c *testConf) error {
			t.Setenv("PATH", t.TempDir())
			c.extra = `,"ipMasq":false`
			return nil
		}, 0, ""},
		{"bridge names a non-bridge", func(t *testing.T, c *testConf) error { return addNonBridge(c.bridge) }, errPluginUnavailable, "bridge"},
		{"dataDir is a file", func(t *testing.T, c *testConf) error {
			return os.WriteFile(c.dataDir, nil, 0o600)
		}, errPluginUnavailable, "data directory"},
		{"store is a symlink", func(t *testing.T, c *testConf) error {
			if err := os.MkdirAll(c.dataDir, 0o700); err != nil {
				return err
			}
			return os.Symlink(t.TempDir(), filepath.Join(c.dataDir, c.name))
		}, errPluginUnavailable, "data directory"},
		{"pool full", func(t *testing.T, c *testConf) error {
			c.subnet = "10.97.1.0/30" // one pod
			n := mustConf(*c)
			store, err := ipam.Open(c.dataDir, n.Name, n.pools(), true)
			if err != nil {
				return err
			}
			defer func() { _ = store.Close() }()
			_, err = store.Reserve(ipam.Attachment{ContainerID: "c1", IfName: "eth0"})
			return err
		}, errPluginUnavailable, "no free IP"},
		{"lock held by another process", func(t *testing.T, c *testConf) error {
			n := mustConf(*c)
			store, err := ipam.Open(c.dataDir, n.Name, n.pools(), true)
			if err != nil {
				return err
			}
			lock, err := store.OpenLock("lock")
			if err != nil {
				return err
			}
			t.Cleanup(func() { _ = lock.Close(); _ = store.Close() })
			saved := ipam.LockTimeout
			ipam.LockTimeout = time.Hour // STATUS would hang here if it waited
			t.Cleanup(func() { ipam.LockTimeout = saved })
			return ipam.LockFile(lock, time.Second)
		}, 0, ""},
		{"filesystem without inodes", func(t *testing.T, c *testConf) error {
			mnt := t.TempDir()
			if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "size=1m,nr_inodes=32"); err != nil {
				return err
			}
			t.Cleanup(func() { _ = unix.Unmount(mnt, unix.MNT_DETACH) })
			c.dataDir = filepath.Join(mnt, "data")
			if err := os.MkdirAll(filepath.Join(c.dataDir, c.name), 0o700); err != nil {
				return err
			}
			for i := 0; ; i++ {
				if err := os.WriteFile(filepath.Join(mnt, fmt.Sprint("filler", i)), nil, 0o600); err != nil {
					return nil // out of inodes
				}
			}
		}, errPluginUnavailable, "data directory"},
		{"filesystem without space", func(t *testing.T, c *testConf) error {
			mnt := t.TempDir()
			if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "size=256k"); err != nil {
				return err
			}
			t.Cleanup(func() { _ = unix.Unmount(mnt, unix.MNT_DETACH) })
			c.dataDir = filepath.Join(mnt, "data")
			filler := make([]byte, 4096)
			f, err := os.Create(filepath.Join(mnt, "filler"))
			if err != nil {
				return err
			}
			defer func() { _ = f.Close() }()
			for {
				if _, err := f.Write(filler); err != nil {
					return nil // full
				}
			}
		}, errPluginUnavailable, "data directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestConf(t)
			inHostNetNS(t, func() error {
				if err := tt.setup(t, &c); err != nil {
					return err
				}
				_, statErr := os.Lstat(filepath.Join(c.dataDir, c.name))
				_, err := call(cmdStatus, c.json(), "", "", "")
				if tt.code == 0 && err != nil {
					return fmt.Errorf("STATUS: %w, want ready", err)
				}
				if tt.code != 0 {
					if err := wantCode(err, tt.code, tt.mention); err != nil {
						return err
					}
				}
				if _, err := os.Lstat(filepath.Join(c.dataDir, c.name)); errors.Is(statErr, os.ErrNotExist) && !errors.Is(err, os.ErrNotExist) {
					return fmt.Errorf("STATUS created the store")
				}
				return nil
			})
		})
	}
}

func TestGCReleasesOnlyWhatIsNotValid(t *testing.T) {
	c := newTestConf(t)
	c.extra = `,"ipMasq":false`
	pod := podNetNS(t)
	inHostNetNS(t, func() error {
		for _, ifName := range []string{"eth0", "net1"} {
			if _, err := call(cmdAdd, c.json(), pod.Path(), "c1", ifName); err != nil {
				return err
			}
		}
		gc := c
		gc.extra += `,"cni.dev/valid-attachments":[{"containerID":"c1","ifname":"eth0"}]`
		if _, err := call(cmdGC, gc.json(), "", "", ""); err != nil {
			return err
		}
		n := mustConf(c)
		for ifName, want := range map[string]bool{"eth0": true, "net1": false} {
			_, err := netlinksafe.LinkByName(hostVethName(n, ipam.Attachment{ContainerID: "c1", IfName: ifName}))
			if (err == nil) != want {
				return fmt.Errorf("after GC, host veth of %s exists: %v, want %v", ifName, err == nil, want)
			}
		}
		// Without the list, GC refuses and changes nothing.
		_, err := call(cmdGC, c.json(), "", "", "")
		if err := wantCode(err, types.ErrInvalidNetworkConfig, "cni.dev/valid-attachments"); err != nil {
			return err
		}
		_, err = netlinksafe.LinkByName(hostVethName(n, ipam.Attachment{ContainerID: "c1", IfName: "eth0"}))
		return err
	})
}

func TestPodWithADefaultRouteKeepsIt(t *testing.T) {
	c := newTestConf(t)
	c.extra = `,"ipMasq":false`
	pod := podNetNS(t)
	inHostNetNS(t, func() error {
		// Another plugin's interface and default route, with a metric, so
		// that adding a second one would not even collide (EEXIST).
		if err := pod.Do(func(ns.NetNS) error {
			up, err := addUpNonBridge("up0")
			if err != nil {
				return err
			}
			if err := netlink.AddrAdd(up, &netlink.Addr{IPNet: &net.IPNet{IP: net.IPv4(192, 0, 2, 2), Mask: net.CIDRMask(24, 32)}}); err != nil {
				return err
			}
			return netlink.RouteAdd(&netlink.Route{LinkIndex: up.Attrs().Index, Gw: net.IPv4(192, 0, 2, 1), Priority: 100})
		}); err != nil {
			return err
		}
		printed, err := call(cmdAdd, c.json(), pod.Path(), "c1", "eth0")
		if err != nil {
			return err
		}
		r, err := addResult(printed)
		if err != nil {
			return err
		}
		if len(r.Routes) != 0 {
			return fmt.Errorf("result lists routes %v, podnet added none", r.Routes)
		}
		return pod.Do(func(ns.NetNS) error {
			h, err := netlinksafe.NewHandle(unix.NETLINK_ROUTE)
			if err != nil {
				return err
			}
			defer h.Close()
			has, err := hasDefaultRoute(h, family{})
			if err != nil {
				return err
			}
			routes, err := netlinksafe.RouteList(nil, netlink.FAMILY_V4)
			if err != nil {
				return err
			}
			for _, rt := range routes {
				if (rt.Dst == nil || rt.Dst.String() == "0.0.0.0/0") && !rt.Gw.Equal(net.IPv4(192, 0, 2, 1)) {
					return fmt.Errorf("podnet added a default route via %s", rt.Gw)
				}
			}
			if !has {
				return errors.New("the pod lost its default route")
			}
			return nil
		})
	})
}

func TestGCGoesOnPastALinkItCannotDelete(t *testing.T) {
	c := newTestConf(t)
	inHostNetNS(t, func() error {
		n := mustConf(c)
		stuck := ipam.Attachment{ContainerID: "stuck", IfName: "eth0"}
		gone := ipam.Attachment{ContainerID: "gone", IfName: "eth0"}
		store, err := ipam.Open(c.dataDir, n.Name, n.pools(), true)
		if err != nil {
			return err
		}
		defer func() { _ = store.Close() }()
		for _, a := range []ipam.Attachment{stuck, gone} {
			if _, err := store.Reserve(a); err != nil {
				return err
			}
		}
		// The loopback device cannot be deleted: under stuck's host veth name
		// it makes GC's delete fail.
		lo, err := netlinksafe.LinkByName("lo")
		if err != nil {
			return err
		}
		if err := netlink.LinkSetName(lo, hostVethName(n, stuck)); err != nil {
			return err
		}
		if err := addNonBridge(hostVethName(n, gone)); err != nil {
			return err
		}
		gc := c
		gc.extra = `,"cni.dev/valid-attachments":[]`
		_, err = call(cmdGC, gc.json(), "", "", "")
		if err := wantCode(err, errGCIncomplete, "1 host veth"); err != nil {
			return err
		}
		if _, err := netlinksafe.LinkByName(hostVethName(n, gone)); err == nil {
			return errors.New("GC stopped before the second attachment's host veth")
		}
		held, err := store.List()
		if err != nil {
			return err
		}
		if len(held) != 1 || !slices.Contains(slices.Collect(maps.Values(held)), stuck) {
			return fmt.Errorf("after GC the store holds %v, want only the attachment whose link could not go", held)
		}
		return nil
	})
}

func TestWarnReachesStderrWithoutALogFile(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stderr
	os.Stderr = w
	o := startOp(&NetConf{}, "ADD", &skel.CmdArgs{ContainerID: "c1", IfName: "eth0"})
	o.warn("rollback: %s", "boom")
	o.finish(errors.New("failed"))
	os.Stderr = saved
	_ = w.Close()
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(got), "ADD c1/eth0: rollback: boom") {
		t.Fatalf("stderr got %q", got)
	}
}
