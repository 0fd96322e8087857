package conformance

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/plugins/pkg/ns"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/cnigate/cnigate/cnitest"
)

// Ports of the chaining specs' hostPort mapping.
const (
	chainHostPort      = 18080
	chainContainerPort = 8080
)

// chainedList renders the testbed's config as the first plugin of a
// conflist followed by portmap, as kind's nodes run podnet.
func chainedList(tb *Testbed) *libcni.NetworkConfigList {
	GinkgoHelper()
	var first map[string]any
	Expect(json.Unmarshal(tb.Conf, &first)).To(Succeed())
	delete(first, "cniVersion")
	delete(first, "name")
	list := map[string]any{
		"cniVersion": tb.Params.CNIVersion,
		"name":       tb.Params.Name,
		"plugins": []any{first, map[string]any{
			"type": "portmap", "backend": "iptables", "snat": true,
			"capabilities": map[string]bool{"portMappings": true},
		}},
	}
	data, err := json.Marshal(list)
	Expect(err).NotTo(HaveOccurred())
	parsed, err := libcni.ConfListFromBytes(data)
	Expect(err).NotTo(HaveOccurred(), "%s", data)
	return parsed
}

// pluginByType returns a directory where the plugin under test is found by
// the "type" of its config, as libcni looks plugins up (the binary may be
// named otherwise).
func pluginByType(tb *Testbed) string {
	GinkgoHelper()
	var conf struct {
		Type string `json:"type"`
	}
	Expect(json.Unmarshal(tb.Conf, &conf)).To(Succeed())
	dir := filepath.Join(tb.Tmp, "cni-bin")
	Expect(os.Mkdir(dir, 0o755)).To(Succeed())
	Expect(os.Symlink(cfg.Plugin.Path, filepath.Join(dir, conf.Type))).To(Succeed())
	return dir
}

// inHostNS runs f with the calling goroutine in the host netns, so the
// plugins libcni starts run there.
func inHostNS(tb *Testbed, f func() error) error {
	return tb.Host.Do(func(ns.NetNS) error { return f() })
}

var _ = Describe("chaining through libcni", Label("generic", "chain"), clause("chaining"), func() {
	BeforeEach(func() {
		if _, err := os.Stat(filepath.Join(cfg.chainCNIPath, "portmap")); err != nil {
			Skip("no portmap in " + cfg.chainCNIPath + " (the chaining specs chain upstream portmap after the plugin: put it in --cni-path or --chain-cni-path)")
		}
	})

	for _, v := range cfg.Versions {
		It("ADD, CHECK and DEL of plugin + portmap work at cniVersion "+v+", with portmap's rules present after ADD and gone after DEL", Label("cniVersion:"+v), func() {
			tb := NewTestbed(v)
			pod := tb.NewPod()
			cacheDir := filepath.Join(tb.Tmp, "libcni-cache")
			paths := []string{pluginByType(tb), cfg.chainCNIPath}
			for _, p := range filepath.SplitList(cfg.Plugin.CNIPath) {
				if p != "" {
					paths = append(paths, p)
				}
			}
			cninet := libcni.NewCNIConfigWithCacheDir(paths, cacheDir, nil)
			list := chainedList(tb)
			rt := &libcni.RuntimeConf{
				ContainerID: NewContainerID(), NetNS: pod.Path(), IfName: TestIfName,
				CapabilityArgs: map[string]any{"portMappings": []map[string]any{
					{"hostPort": chainHostPort, "containerPort": chainContainerPort, "protocol": "tcp"},
				}},
			}
			ctx, cancel := context.WithTimeout(context.Background(), tb.Timeout)
			DeferCleanup(cancel)

			By("ADD")
			var added types.Result
			Expect(inHostNS(tb, func() (err error) {
				added, err = cninet.AddNetworkList(ctx, list, rt)
				return err
			})).To(Succeed())
			Expect(added.Version()).To(Equal(v), "the chain's result is in the list's cniVersion")
			res, err := current.NewResultFromResult(added)
			Expect(err).NotTo(HaveOccurred())
			a := Attachment{ID: rt.ContainerID, Pod: pod, Result: res}
			ExpectPodConfigured(tb, a)
			ip := PodIP(res)
			dnat := ip + ":" + strconv.Itoa(chainContainerPort)
			Expect(natRulesMentioning(tb, dnat)).NotTo(BeEmpty(), "portmap's DNAT to %s is missing after ADD", dnat)

			// The hostPort is dialled at the gateway, a host address on the pod
			// network: a plugin whose gateway is not on the node gives the host
			// no route to its pods, so only the rules are checked then.
			if cfg.profile.DataPath.gateway() {
				By("the hostPort reaches the pod")
				ln, err := cnitest.ListenTCP(pod, net.JoinHostPort(ip, strconv.Itoa(chainContainerPort)))
				Expect(err).NotTo(HaveOccurred())
				DeferCleanup(ln.Close)
				gateway := res.IPs[0].Gateway
				Expect(gateway).NotTo(BeNil(), "the result names no gateway")
				Eventually(func() (string, error) {
					dctx, dcancel := context.WithTimeout(ctx, 2*time.Second)
					defer dcancel()
					return cnitest.DialTCP(dctx, tb.Host, net.JoinHostPort(gateway.String(), strconv.Itoa(chainHostPort)))
				}).WithTimeout(10*time.Second).Should(ContainSubstring("hello from"), "host -> %s:%d (hostPort)", gateway, chainHostPort)
			} else {
				AddReportEntry("profile: dataPath.gateway is false: the hostPort is not dialled from the host (no host address on the pod network)")
			}

			if atLeast(v, "0.4.0") {
				By("CHECK")
				Expect(inHostNS(tb, func() error { return cninet.CheckNetworkList(ctx, list, rt) })).To(Succeed())
			}

			By("DEL, twice")
			for range 2 {
				Expect(inHostNS(tb, func() error { return cninet.DelNetworkList(ctx, list, rt) })).To(Succeed())
			}
			Expect(natRulesMentioning(tb, dnat)).To(BeEmpty(), "portmap's DNAT is left after DEL")
			Expect(natRulesMentioning(tb, "--dport "+strconv.Itoa(chainHostPort))).To(BeEmpty(), "a hostPort rule is left after DEL")
			_, found, err := cnitest.LinkIn(pod, TestIfName)
			Expect(err).NotTo(HaveOccurred())
			Expect(found).To(BeFalse(), "%s still in the pod after DEL", TestIfName)
			tb.ExpectReleased(rt.ContainerID)
		})
	}
})

// natRulesMentioning lists the host netns's nat rules containing text.
func natRulesMentioning(tb *Testbed, text string) []string {
	GinkgoHelper()
	snap, err := cnitest.TakeSnapshot(map[string]ns.NetNS{"host": tb.Host}, nil)
	Expect(err).NotTo(HaveOccurred())
	var found []string
	for _, f := range snap["host"] {
		if strings.HasPrefix(f, "iptables -t nat ") && strings.Contains(f, text) {
			found = append(found, f)
		}
	}
	return found
}
