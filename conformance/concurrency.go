package conformance

import (
	"sync"

	"github.com/containernetworking/cni/pkg/version"
	"github.com/containernetworking/plugins/pkg/ns"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/cnigate/cnigate/cnitest"
)

// parallelADDs is how many ADDs race into one /24 (the bash-cni plugin
// hands out duplicate addresses well below this).
const parallelADDs = 100

var _ = Describe("concurrency", Label("generic"), clause("parallel"), func() {
	It("parallel ADDs into one subnet all succeed with distinct addresses, and parallel DELs release them all", func() {
		// One run checks every claimed family (distinct in each), not one
		// run per family: 100 ADDs are the suite's dearest spec.
		requireAttachments(parallelADDs)
		tb := NewTestbed(version.Current())
		pods := make([]ns.NetNS, parallelADDs)
		for i := range pods {
			pods[i] = tb.NewPod()
		}
		ids := make([]string, parallelADDs)
		resps := make([]cnitest.Response, parallelADDs)
		var wg sync.WaitGroup
		for i := range pods {
			ids[i] = NewContainerID()
			wg.Go(func() {
				defer GinkgoRecover()
				resps[i] = tb.Run(cnitest.Invocation{Command: "ADD", ContainerID: ids[i], NetNS: pods[i].Path()})
			})
		}
		wg.Wait()

		owner := map[string]int{}
		for i, resp := range resps {
			Expect(resp.Failed()).To(BeFalse(), "ADD %d: %s", i, resp)
			result, err := resp.Result(tb.Params.CNIVersion)
			Expect(err).NotTo(HaveOccurred())
			a := Attachment{ID: ids[i], Pod: pods[i], Result: result}
			// Distinct in each family the profile claims.
			for _, family := range cfg.profile.DataPath.families() {
				ip := ResultIP(result, family).Address.IP.String()
				Expect(owner).NotTo(HaveKey(ip), "%s handed to ADD %d and ADD %d", ip, owner[ip], i)
				owner[ip] = i
			}
			ExpectPodConfigured(tb, a)
		}

		for i := range pods {
			wg.Go(func() {
				defer GinkgoRecover()
				resps[i] = tb.Run(cnitest.Invocation{Command: "DEL", ContainerID: ids[i], NetNS: pods[i].Path()})
			})
		}
		wg.Wait()
		for i, resp := range resps {
			Expect(resp.Failed()).To(BeFalse(), "DEL %d: %s", i, resp)
			tb.ExpectReleased(ids[i], "DEL %d left its reservation", i)
		}
		Expect(tb.HostVeths()).To(BeEmpty())
	})
})

var _ = Describe("pool exhaustion", Label("generic"), func() {
	BeforeEach(func() { requireAttachments(2) })
	const smallSubnet = "10.99.1.0/29" // 8 addresses: 5 for pods once network, gateway and broadcast are out

	// fill ADDs pods until one fails, and returns the successes and the failure.
	// hostLinks are the host netns's links just before the failing ADD.
	fill := func(tb *Testbed) (added []Attachment, failedID string, failedPod ns.NetNS, failure cnitest.Response, hostLinks []string) {
		GinkgoHelper()
		for range 16 {
			pod := tb.NewPod()
			id := NewContainerID()
			var err error
			hostLinks, err = cnitest.LinkNames(tb.Host)
			Expect(err).NotTo(HaveOccurred())
			resp := tb.Run(cnitest.Invocation{Command: "ADD", ContainerID: id, NetNS: pod.Path()})
			if resp.Failed() {
				return added, id, pod, resp, hostLinks
			}
			result, err := resp.Result(tb.Params.CNIVersion)
			Expect(err).NotTo(HaveOccurred())
			added = append(added, Attachment{ID: id, Pod: pod, Result: result})
		}
		Fail("16 ADDs into a /29 all succeeded")
		return
	}

	It("the ADD past the end fails with a CNI error and no reservation, and a DEL makes room again", clause("errors"), func() {
		tb := NewTestbed(version.Current(), WithSubnet(smallSubnet))
		added, failedID, _, failure, _ := fill(tb)
		Expect(added).NotTo(BeEmpty())
		_, err := failure.Error()
		Expect(err).NotTo(HaveOccurred(), "exhaustion must be reported as a CNI error")
		tb.ExpectReleased(failedID)

		Expect(tb.Del(added[0], added[0].Pod.Path()).Failed()).To(BeFalse())
		again := tb.Add(tb.NewPod())
		Expect(PodIP(again.Result)).To(Equal(PodIP(added[0].Result)), "the released address is handed out again")
	})

	It("the ADD past the end leaves no link behind", Label("rollback"), convention("rollback"), func() {
		tb := NewTestbed(version.Current(), WithSubnet(smallSubnet))
		_, _, failedPod, _, hostLinks := fill(tb)
		Expect(cnitest.LinkNames(failedPod)).To(Equal([]string{"lo"}), "the failed ADD left an interface in the pod")
		Expect(cnitest.LinkNames(tb.Host)).To(Equal(hostLinks), "the failed ADD left a link in the host netns")
	})
})
