package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/containernetworking/cni/pkg/types"
)

// Two networks of one dataDir on one bridge (a conflist left over from a
// rename: another name, the same subnet and bridge): the second is refused
// while the first holds an address, with code 7 naming it, and STATUS says
// 50; once the first network's pods are gone the bridge is the second's.
func TestTwoNetworksOneBridge(t *testing.T) {
	a := newTestConf(t)
	a.extra = `,"ipMasq":false`
	renamed := a
	renamed.name = "net-renamed"
	elsewhere := renamed
	elsewhere.bridge = "pnbr-other"
	pod, otherPod := podNetNS(t), podNetNS(t)
	inHostNetNS(t, func() error {
		if _, err := call(cmdAdd, a.json(), pod.Path(), "c1", "eth0"); err != nil {
			return err
		}
		_, err := call(cmdAdd, renamed.json(), otherPod.Path(), "c2", "eth0")
		if err := wantCode(err, types.ErrInvalidNetworkConfig, `network "net-a"`); err != nil {
			return fmt.Errorf("ADD in the renamed network: %w", err)
		}
		if _, err := os.Stat(filepath.Join(a.dataDir, renamed.name)); !errors.Is(err, os.ErrNotExist) {
			return errors.Join(errors.New("the refused ADD made the renamed network's store"), err)
		}
		_, err = call(cmdStatus, renamed.json(), "", "", "")
		if err := wantCode(err, errPluginUnavailable, "another network's"); err != nil {
			return fmt.Errorf("STATUS of the renamed network: %w", err)
		}
		if _, err := call(cmdStatus, a.json(), "", "", ""); err != nil {
			return fmt.Errorf("STATUS of the bridge's network: %w", err)
		}
		// Another bridge is another segment: no conflict.
		if _, err := call(cmdAdd, elsewhere.json(), otherPod.Path(), "c2", "eth0"); err != nil {
			return fmt.Errorf("ADD of the renamed network on its own bridge: %w", err)
		}
		if _, err := call(cmdDel, elsewhere.json(), otherPod.Path(), "c2", "eth0"); err != nil {
			return err
		}
		if _, err := call(cmdDel, a.json(), pod.Path(), "c1", "eth0"); err != nil {
			return err
		}
		if _, err := call(cmdAdd, renamed.json(), otherPod.Path(), "c2", "eth0"); err != nil {
			return fmt.Errorf("ADD in the renamed network once the first is empty: %w", err)
		}
		_, err = call(cmdAdd, a.json(), pod.Path(), "c1", "eth0")
		return wantCode(err, types.ErrInvalidNetworkConfig, `network "net-renamed"`)
	})
}
