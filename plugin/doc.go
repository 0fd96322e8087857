// Command podnet is a CNI plugin that gives every pod a veth pair into a
// per-node Linux bridge, an address per configured family (IPv4, IPv6 or
// both) from the node's subnets handed out by a locked on-disk IPAM store, a
// default route per family via the bridge, and (optionally) iptables and
// ip6tables rules that forward pod traffic and masquerade what leaves the pod
// network. It implements ADD, DEL, CHECK, VERSION, GC and STATUS for CNI spec
// versions 0.3.0 to 1.1.0.
package main
