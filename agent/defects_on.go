//go:build podnet_defects

package agent

import (
	"fmt"
	"net/netip"
	"os"
)

// A podnet_defects build (issue 19, never a release) injects the fault env
// PODNET_DEFECT names, so the gates can show they catch it.
func init() {
	loadDefects = func() error {
		name := os.Getenv("PODNET_DEFECT")
		d := defectHooks{build: true, name: name}
		switch name {
		case "":
		case "drop-routes":
			d.dropRoutes = true
		case "conf-subnet":
			d.shiftSubnet = nextSubnet
		case "wipe-store":
			d.wipeStore = true
		case "no-masquerade":
			d.noMasquerade = true
		default:
			return fmt.Errorf("PODNET_DEFECT=%q: not drop-routes, conf-subnet, wipe-store or no-masquerade", name)
		}
		defects = d
		return nil
	}
}

// nextSubnet is the subnet of the same size after p (another node's, as
// likely as not): pods get addresses the other nodes route elsewhere.
func nextSubnet(p netip.Prefix) netip.Prefix {
	a := p.Addr().AsSlice()
	bit := p.Bits() - 1 // the lowest bit of the prefix
	for i := bit / 8; i >= 0; i-- {
		step := byte(1) << (7 - bit%8)
		if i != bit/8 {
			step = 1
		}
		a[i] += step
		if a[i] >= step { // no carry out of this byte
			break
		}
	}
	next, _ := netip.AddrFromSlice(a)
	return netip.PrefixFrom(next, p.Bits())
}
