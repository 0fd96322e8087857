package ipam

import (
	"encoding/binary"
	"fmt"
	"net"
)

// Pool is the set of addresses a subnet can hand to pods: every host address
// but the network address, the gateway (the first host) and the broadcast
// address. IPv4 only, like the network design podnet implements.
type Pool struct {
	Subnet  *net.IPNet
	Gateway net.IP
	first   uint32 // first pod address
	last    uint32 // last pod address
}

// MaxPrefixLen is the longest prefix that still leaves room for one pod.
const MaxPrefixLen = 30

// NewPool returns the pool of subnet, or an error when subnet is not IPv4 or
// too small to hold a pod.
func NewPool(subnet *net.IPNet) (Pool, error) {
	base := subnet.IP.To4()
	ones, bits := subnet.Mask.Size()
	if base == nil || bits != 32 {
		return Pool{}, fmt.Errorf("%s is not an IPv4 subnet", subnet)
	}
	if ones > MaxPrefixLen {
		return Pool{}, fmt.Errorf("%s is too small: a subnet needs at least a /%d to hold the gateway and one pod", subnet, MaxPrefixLen)
	}
	network := binary.BigEndian.Uint32(base) & binary.BigEndian.Uint32(net.IP(subnet.Mask).To4())
	broadcast := network | ^binary.BigEndian.Uint32(net.IP(subnet.Mask).To4())
	return Pool{
		Subnet:  &net.IPNet{IP: toIP(network), Mask: subnet.Mask},
		Gateway: toIP(network + 1),
		first:   network + 2,
		last:    broadcast - 1,
	}, nil
}

// Size is the number of pod addresses.
func (p Pool) Size() int { return int(p.last - p.first + 1) }

// First is the lowest pod address.
func (p Pool) First() net.IP { return toIP(p.first) }

// Next is the pod address after ip, or nil past the end.
func (p Pool) Next(ip net.IP) net.IP {
	n := binary.BigEndian.Uint32(ip.To4())
	if n >= p.last {
		return nil
	}
	return toIP(n + 1)
}

// Contains reports whether ip is a pod address of the pool.
func (p Pool) Contains(ip net.IP) bool {
	v4 := ip.To4()
	if v4 == nil {
		return false
	}
	n := binary.BigEndian.Uint32(v4)
	return n >= p.first && n <= p.last
}

func toIP(n uint32) net.IP {
	ip := make(net.IP, 4)
	binary.BigEndian.PutUint32(ip, n)
	return ip
}
