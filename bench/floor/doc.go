// Command floor is the benchmark's lower bound for a bridge CNI plugin: one
// process that does only the kernel work of one ADD or one DEL, and nothing a
// real plugin adds on top (no IPAM, no iptables, no config parsing beyond a few
// environment variables, no result JSON).
//
// It is started like a CNI plugin, with CNI_COMMAND, CNI_CONTAINERID,
// CNI_NETNS and CNI_IFNAME in its environment, inside the node's (host)
// network namespace. The benchmark hands it everything a plugin would work out
// for itself:
//
//	FLOOR_ADDRESS  the pod address with its prefix, e.g. 10.99.1.7/24 (ADD)
//	FLOOR_GATEWAY  the gateway, which it also puts on the bridge, e.g. 10.99.1.1 (ADD)
//	FLOOR_BRIDGE   the bridge name, e.g. cni0 (ADD)
//	FLOOR_MTU      the MTU of the veth pair, e.g. 1500 (ADD)
//	FLOOR_ADDRESS6, FLOOR_GATEWAY6  optional, the same for IPv6 (a dual-stack
//	               pod: both addresses without DAD, a default route per family)
//
// ADD: look the bridge up (create it, up, with the gateway address, and turn
// forwarding on per family, when it is missing: the kernel work of a node's
// first ADD); create a veth pair from
// inside the pod netns with the host end in the host netns, set the host end
// up; in the pod netns add the address (dual-stack: both, and
// keep_addr_on_down on the interface), set the interface up and add the
// default route via the gateway; attach the host end to the bridge in hairpin
// mode. These are the kernel changes podnet's bench config makes (podnet's
// hairpinMode defaults to true), each made the cheapest way (the sysctl
// inside the one pod netns switch the floor makes anyway).
// DEL: delete the pod interface from inside the pod netns (its peer goes with
// it). Both use vishvananda/netlink and containernetworking/plugins' pkg/ns
// and pkg/ip, like the plugins they are compared with, and never exec `ip`.
//
// It runs with one P (GOMAXPROCS 1 unless set), as podnet does.
//
// It prints nothing on success and exits 0; on failure it prints the error on
// stderr and exits 1 (2 for a bad environment).
package main
