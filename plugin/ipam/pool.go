package ipam

import (
	"encoding/binary"
	"fmt"
	"net"
)

// Pool is the set of addresses a subnet can hand to pods: every host address
// but the network address and the gateway (the first host), and for IPv4 the
// broadcast address. Addresses are kept as offsets from the network address,
// which fit in 64 bits: an IPv6 subnet is at most a /64.
type Pool struct {
	Subnet  *net.IPNet
	Gateway net.IP
	base    net.IP // the network address, 4 bytes (IPv4) or 16 (IPv6)
	first   uint64 // offset of the first pod address
	last    uint64 // offset of the last pod address
}

// Prefix bounds. An IPv4 subnet needs room for the gateway and one pod
// besides the network and broadcast addresses. An IPv6 subnet is at most a
// /64 (a node's share; the host part then fits in 64 bits) and at least a
// /126 (gateway and two pods; IPv6 has no broadcast address).
const (
	MaxPrefixLen  = 30
	MinPrefixLen6 = 64
	MaxPrefixLen6 = 126
)

// NewPool returns the pool of subnet, or an error when subnet is too small to
// hold a pod or (IPv6) wider than a /64.
func NewPool(subnet *net.IPNet) (Pool, error) {
	ones, bits := subnet.Mask.Size()
	base := subnet.IP.Mask(subnet.Mask)
	switch {
	case bits == 32 && base.To4() != nil:
		if ones > MaxPrefixLen {
			return Pool{}, fmt.Errorf("%s is too small: a subnet needs at least a /%d to hold the gateway and one pod", subnet, MaxPrefixLen)
		}
		base = base.To4()
		size := uint64(1) << (32 - ones)
		return newPool(subnet, base, size-2), nil // the broadcast address is no pod's
	case bits == 128 && len(base) == net.IPv6len:
		if ones < MinPrefixLen6 {
			return Pool{}, fmt.Errorf("%s is wider than /%d: a node's IPv6 pod subnet is at most a /%d", subnet, MinPrefixLen6, MinPrefixLen6)
		}
		if ones > MaxPrefixLen6 {
			return Pool{}, fmt.Errorf("%s is too small: an IPv6 subnet needs at least a /%d to hold the gateway and two pods", subnet, MaxPrefixLen6)
		}
		last := ^uint64(0) >> (ones - 64) // all ones in the host part (2^64-1 for a /64)
		return newPool(subnet, base, last), nil
	}
	return Pool{}, fmt.Errorf("%s is neither an IPv4 nor an IPv6 subnet", subnet)
}

func newPool(subnet *net.IPNet, base net.IP, last uint64) Pool {
	p := Pool{base: base, first: 2, last: last}
	p.Subnet = &net.IPNet{IP: base, Mask: subnet.Mask}
	p.Gateway = p.at(1)
	return p
}

// IPv6 reports whether the pool holds IPv6 addresses.
func (p Pool) IPv6() bool { return len(p.base) == net.IPv6len }

// Size is the number of pod addresses.
func (p Pool) Size() uint64 { return p.last - p.first + 1 }

// First is the lowest pod address.
func (p Pool) First() net.IP { return p.at(p.first) }

// Next is the pod address after ip, or nil past the end.
func (p Pool) Next(ip net.IP) net.IP {
	off, ok := p.offset(ip)
	if !ok || off >= p.last {
		return nil
	}
	return p.at(off + 1)
}

// Contains reports whether ip is a pod address of the pool.
func (p Pool) Contains(ip net.IP) bool {
	off, ok := p.offset(ip)
	return ok && off >= p.first && off <= p.last
}

// offset returns ip's host part, and false when ip is not in the subnet or of
// the other family (an IPv4-mapped IPv6 address is IPv4).
func (p Pool) offset(ip net.IP) (uint64, bool) {
	if p.base == nil || (ip.To4() != nil) == p.IPv6() || !p.Subnet.Contains(ip) {
		return 0, false
	}
	if p.IPv6() {
		ip = ip.To16()
		return binary.BigEndian.Uint64(ip[8:]) - binary.BigEndian.Uint64(p.base[8:]), true
	}
	return uint64(binary.BigEndian.Uint32(ip.To4()) - binary.BigEndian.Uint32(p.base)), true
}

// at returns the address at offset off from the network address.
func (p Pool) at(off uint64) net.IP {
	ip := make(net.IP, len(p.base))
	copy(ip, p.base)
	if p.IPv6() {
		binary.BigEndian.PutUint64(ip[8:], binary.BigEndian.Uint64(p.base[8:])+off)
	} else {
		binary.BigEndian.PutUint32(ip, binary.BigEndian.Uint32(p.base)+uint32(off))
	}
	return ip
}
