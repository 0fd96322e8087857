package conformance

import (
	"net"
	"time"

	"github.com/containernetworking/cni/pkg/version"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/cnigate/cnigate/cnitest"
)

// probe pings to from a pod; the first packets may wait for ARP and a
// bridge port to forward, so callers retry it.
func probe(from Attachment, to net.IP) func() error {
	return func() error { return cnitest.Ping(from.Pod, to, time.Second) }
}

var _ = Describe("data path", Label("generic"), func() {
	It("pods on one node reach each other (ICMP, TCP)", convention("same-node-l2"), func() {
		if !cfg.profile.DataPath.sameNodeL2() {
			Skip("profile: dataPath.sameNodeL2 is false (pods of one node are not promised to reach each other)")
		}
		requireAttachments(2)
		tb := NewTestbed(version.Current())
		a, b := tb.Add(tb.NewPod()), tb.Add(tb.NewPod())
		Eventually(probe(a, b.Result.IPs[0].Address.IP)).WithTimeout(10*time.Second).Should(Succeed(), "ICMP a -> b")
		Eventually(probe(b, a.Result.IPs[0].Address.IP)).WithTimeout(10*time.Second).Should(Succeed(), "ICMP b -> a")

		expectTCP(a, b.Pod, net.ParseIP(PodIP(b.Result)))
	})

	It("a pod reaches the gateway its result names", convention("gateway"), func() {
		requireGateway()
		tb := NewTestbed(version.Current())
		a := tb.Add(tb.NewPod())
		gateway := a.Result.IPs[0].Gateway
		Expect(gateway).NotTo(BeNil(), "the result names no gateway")
		Eventually(probe(a, gateway)).WithTimeout(10*time.Second).Should(Succeed(), "ICMP a -> gateway")
	})
})
