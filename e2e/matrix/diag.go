package matrix

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
	"sigs.k8s.io/e2e-framework/klient/k8s/resources"
	"sigs.k8s.io/e2e-framework/klient/wait"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"github.com/cnigate/cnigate/e2e/harness/cni"
	"github.com/cnigate/cnigate/e2e/harness/probe"
)

// The diagnosis bundle of a red run (any cluster): per node, its network
// state read from a privileged hostNetwork pod in the test namespace (an
// existing cluster cannot be reached with docker exec), plus the test pods'
// state, events and logs; tarred as <report dir>/diag.tar.gz.

const (
	diagDir  = "diag"
	diagTar  = "diag.tar.gz"
	diagApp  = "cnigate-e2e-diag"
	diagWait = 90 * time.Second
)

func diagPod(n string) string { return "diag-" + n }

// diagCommand is one piece of a node's state: the file it goes to and the
// shell command that prints it.
type diagCommand struct{ file, cmd string }

// diagCommands read a node's network state with the node's own tools
// (entered through nsenter into PID 1's namespaces); where the node has no
// shell, the pod's busybox reads what it can (ip, /proc): the pod is in the
// node's network namespace.
var diagCommands = []diagCommand{
	{"links.txt", "ip -d link show"},
	{"addresses.txt", "ip addr show"},
	{"routes-ipv4.txt", "ip -4 route show table all"},
	{"routes-ipv6.txt", "ip -6 route show table all"},
	{"rules.txt", "ip -4 rule show; ip -6 rule show"},
	{"neighbours.txt", "ip neigh show"},
	{"iptables.txt", "iptables-save"},
	{"ip6tables.txt", "ip6tables-save"},
	{"nft.txt", "nft list ruleset"},
	{"conntrack.txt", "echo count $(cat /proc/sys/net/netfilter/nf_conntrack_count) max $(cat /proc/sys/net/netfilter/nf_conntrack_max)"},
	{"sysctl.txt", "for k in ipv4/ip_forward ipv6/conf/all/forwarding bridge/bridge-nf-call-iptables bridge/bridge-nf-call-ip6tables; do echo \"$k = $(cat /proc/sys/net/$k 2>&1)\"; done"},
	{"cni-conf.txt", "ls -la " + cni.ConfDir + "; for f in " + cni.ConfDir + "/*; do echo \"### $f\"; cat \"$f\"; echo; done"},
	{"cni-bin.txt", "ls -la " + cni.BinDir},
	{"podnet-store.txt", "if [ -d " + cni.DataDir + " ]; then ls -laR " + cni.DataDir + "; else echo 'absent: " + cni.DataDir + " (podnet does not run here)'; fi"},
}

// diagNodePod is the privileged hostNetwork, hostPID pod that reads node's state.
func diagNodePod(s *suite, node, short string) *corev1.Pod {
	p := testPod(s, diagPod(short), node, "diag", []string{"sleep", "3600"})
	p.Labels["app"] = diagApp // not a matrix pod: listTestPods leaves it out
	privileged := true
	p.Spec.HostNetwork, p.Spec.HostPID = true, true
	p.Spec.Tolerations = []corev1.Toleration{{Operator: corev1.TolerationOpExists}}
	p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: &privileged}
	return p
}

// diagnoseOnFailure writes the diagnosis bundle when the run is red (a
// failed cell or setup), not when it was interrupted.
func diagnoseOnFailure(ctx context.Context, _ *envconf.Config) (context.Context, error) {
	s := suiteFrom(ctx)
	if !s.failed.Load() || s.interrupted.Load() || s.client == nil || s.rest == nil || s.opt.KeepCluster {
		return ctx, nil
	}
	dir := filepath.Join(s.opt.ReportDir, diagDir)
	if err := os.RemoveAll(dir); err != nil {
		return ctx, err
	}
	klog.Infof("run is red: gathering the diagnosis bundle in %s", dir)
	var errs []string
	if err := diagnoseNodes(ctx, s, dir); err != nil {
		errs = append(errs, err.Error())
	}
	if err := diagnosePods(ctx, s, dir); err != nil {
		errs = append(errs, err.Error())
	}
	if len(errs) > 0 { // what could not be read is part of the diagnosis
		_ = os.WriteFile(filepath.Join(dir, "errors.txt"), []byte(strings.Join(errs, "\n")+"\n"), 0o644)
		klog.Errorf("diagnosis: %s", strings.Join(errs, "; "))
	}
	tarPath := filepath.Join(s.opt.ReportDir, diagTar)
	if err := tarDir(dir, tarPath); err != nil {
		return ctx, err
	}
	s.diagTar = tarPath
	klog.Infof("diagnosis bundle: %s", tarPath)
	return ctx, nil
}

// diagnoseNodes starts a diag pod on every node and reads its state into
// dir/<node>/.
func diagnoseNodes(ctx context.Context, s *suite, dir string) error {
	var ns corev1.Namespace
	if err := s.client.Resources().Get(ctx, s.namespace, "", &ns); err != nil {
		return fmt.Errorf("nodes not diagnosed: test namespace %s: %w", s.namespace, err)
	}
	var pods []*corev1.Pod
	for _, n := range s.nodes {
		p := diagNodePod(s, n.Name, s.short[n.Name])
		if err := s.client.Resources().Create(ctx, p); err != nil {
			return fmt.Errorf("create diag pod %s: %w", p.Name, err)
		}
		pods = append(pods, p)
	}
	ready := diagPodsReady(ctx, s, pods)
	var wg sync.WaitGroup
	errc := make(chan error, len(s.nodes))
	for _, n := range s.nodes {
		nodeDir := filepath.Join(dir, "nodes", n.Name)
		if err := os.MkdirAll(nodeDir, 0o755); err != nil {
			return err
		}
		pod := diagPod(s.short[n.Name])
		if !ready[pod] {
			msg := fmt.Sprintf("diag pod %s not Ready within %s: %s\n", pod, diagWait, podState(ctx, s, pod))
			errc <- os.WriteFile(filepath.Join(nodeDir, "errors.txt"), []byte(msg), 0o644)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errc <- diagnoseNode(ctx, s, pod, nodeDir)
		}()
	}
	wg.Wait()
	close(errc)
	var errs []string
	for err := range errc {
		if err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// diagPodsReady waits (up to diagWait) for the diag pods and returns which are Ready.
func diagPodsReady(ctx context.Context, s *suite, pods []*corev1.Pod) map[string]bool {
	ready := map[string]bool{}
	_ = wait.For(func(ctx context.Context) (bool, error) {
		var list corev1.PodList
		if err := s.client.Resources(s.namespace).List(ctx, &list, resources.WithLabelSelector("app="+diagApp)); err != nil {
			return false, nil
		}
		for i := range list.Items {
			ready[list.Items[i].Name] = probe.PodConditionTrue(&list.Items[i], corev1.PodReady)
		}
		for _, p := range pods {
			if !ready[p.Name] {
				return false, nil
			}
		}
		return true, nil
	}, wait.WithContext(ctx), wait.WithInterval(time.Second), wait.WithTimeout(diagWait), wait.WithImmediate())
	return ready
}

// diagnoseNode runs diagCommands through pod into nodeDir: in the node's
// namespaces when nsenter works there, else in the pod (the node's network
// namespace, busybox's tools).
func diagnoseNode(ctx context.Context, s *suite, pod, nodeDir string) error {
	enter := []string{"nsenter", "-t", "1", "-m", "-u", "-i", "-n", "--"}
	how := "the node's own tools (nsenter into PID 1's namespaces)"
	if out, err := execBoth(ctx, s, pod, append(enter, "sh", "-c", "true")...); err != nil {
		enter = nil
		how = fmt.Sprintf("the diag pod's busybox in the node's network namespace (nsenter failed: %v %s)", err, strings.TrimSpace(out))
	}
	notes := []string{"read with " + how}
	path := "" // the pod's PATH (/bin) misses the node's /usr/sbin
	if enter != nil {
		path = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; "
	}
	for _, c := range diagCommands {
		out, err := execBoth(ctx, s, pod, append(slices.Clone(enter), "sh", "-c", path+c.cmd)...)
		body := "$ " + c.cmd + "\n" + out
		if err != nil {
			body += fmt.Sprintf("\n[error: %v]\n", err)
		}
		if werr := os.WriteFile(filepath.Join(nodeDir, c.file), []byte(body), 0o644); werr != nil {
			return werr
		}
	}
	return os.WriteFile(filepath.Join(nodeDir, "README.txt"), []byte(strings.Join(notes, "\n")+"\n"), 0o644)
}

// execBoth runs cmd in pod's container and returns its stdout, then its
// stderr (apart: nft's warnings would cut its ruleset's lines).
func execBoth(ctx context.Context, s *suite, pod string, cmd ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	err := s.client.Resources().ExecInPod(ctx, s.namespace, pod, containerName, cmd, &stdout, &stderr)
	out := stdout.String()
	if stderr.Len() > 0 {
		out += "\n--- stderr\n" + stderr.String()
	}
	return out, err
}

// diagnosePods writes the pods (state, restarts), events and container logs
// of the test namespace, kube-system and every namespace with a hostNetwork
// DaemonSet (where CNI agents run: podnet's, calico-node, cilium, ...).
func diagnosePods(ctx context.Context, s *suite, dir string) error {
	cs, err := kubernetes.NewForConfig(s.rest)
	if err != nil {
		return err
	}
	var errs []string
	namespaces := []string{s.namespace, metav1.NamespaceSystem}
	if dss, err := cs.AppsV1().DaemonSets("").List(ctx, metav1.ListOptions{}); err != nil {
		errs = append(errs, fmt.Sprintf("DaemonSets: %v", err))
	} else {
		for _, ds := range dss.Items {
			if ds.Spec.Template.Spec.HostNetwork && !slices.Contains(namespaces, ds.Namespace) {
				namespaces = append(namespaces, ds.Namespace)
			}
		}
	}
	for _, ns := range namespaces {
		nsDir := filepath.Join(dir, "namespaces", ns)
		if err := os.MkdirAll(filepath.Join(nsDir, "logs"), 0o755); err != nil {
			return err
		}
		pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			errs = append(errs, fmt.Sprintf("pods of %s: %v", ns, err))
			continue
		}
		if err := os.WriteFile(filepath.Join(nsDir, "pods.txt"), []byte(describePods(pods.Items)), 0o644); err != nil {
			return err
		}
		evs, err := cs.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			errs = append(errs, fmt.Sprintf("events of %s: %v", ns, err))
		} else if err := os.WriteFile(filepath.Join(nsDir, "events.txt"), []byte(describeEvents(evs.Items)), 0o644); err != nil {
			return err
		}
		for _, p := range pods.Items {
			for _, c := range p.Spec.Containers {
				for _, previous := range []bool{false, true} {
					if previous && restarts(p, c.Name) == 0 {
						continue
					}
					raw, err := cs.CoreV1().Pods(ns).GetLogs(p.Name, &corev1.PodLogOptions{Container: c.Name, Previous: previous, TailLines: ptr(int64(2000))}).DoRaw(ctx)
					if err != nil {
						raw = append(raw, []byte("\n[error: "+err.Error()+"]\n")...)
					}
					name := p.Name + "_" + c.Name
					if previous {
						name += ".previous"
					}
					if err := os.WriteFile(filepath.Join(nsDir, "logs", name+".log"), raw, 0o644); err != nil {
						return err
					}
				}
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

func restarts(p corev1.Pod, container string) int32 {
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Name == container {
			return cs.RestartCount
		}
	}
	return 0
}

// describePods: one line per pod (node, phase, IPs, restarts) and its
// containers' waiting/terminated states.
func describePods(pods []corev1.Pod) string {
	sort.Slice(pods, func(i, j int) bool { return pods[i].Name < pods[j].Name })
	var b strings.Builder
	for _, p := range pods {
		var ips []string
		for _, ip := range p.Status.PodIPs {
			ips = append(ips, ip.IP)
		}
		fmt.Fprintf(&b, "%s node=%s phase=%s ips=%s\n", p.Name, p.Spec.NodeName, p.Status.Phase, strings.Join(ips, ","))
		for _, c := range p.Status.Conditions {
			if c.Status != corev1.ConditionTrue {
				fmt.Fprintf(&b, "  condition %s=%s %s %s\n", c.Type, c.Status, c.Reason, c.Message)
			}
		}
		for _, c := range p.Status.ContainerStatuses {
			fmt.Fprintf(&b, "  container %s ready=%t restarts=%d", c.Name, c.Ready, c.RestartCount)
			if w := c.State.Waiting; w != nil {
				fmt.Fprintf(&b, " waiting %s: %s", w.Reason, w.Message)
			}
			if t := c.LastTerminationState.Terminated; t != nil {
				fmt.Fprintf(&b, " last terminated %s exit %d at %s", t.Reason, t.ExitCode, t.FinishedAt.UTC().Format(time.RFC3339))
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

// describeEvents: the events in time order, one a line.
func describeEvents(evs []corev1.Event) string {
	when := func(e corev1.Event) time.Time {
		if !e.LastTimestamp.IsZero() {
			return e.LastTimestamp.Time
		}
		if !e.EventTime.IsZero() {
			return e.EventTime.Time
		}
		return e.CreationTimestamp.Time
	}
	sort.SliceStable(evs, func(i, j int) bool { return when(evs[i]).Before(when(evs[j])) })
	var b strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&b, "%s %s %s/%s %s x%d: %s\n", when(e).UTC().Format(time.RFC3339), e.Type, e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Reason, max(e.Count, 1), strings.TrimSpace(e.Message))
	}
	return b.String()
}

// tarDir writes dir as a gzipped tarball at dest, its entries under
// dir's base name.
func tarDir(dir, dest string) (err error) {
	f, err := os.Create(dest)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	base := filepath.Dir(dir)
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(base, path)
		if err != nil {
			return err
		}
		hdr, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		if d.IsDir() {
			hdr.Name += "/"
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		src, err := os.Open(path)
		if err != nil {
			return err
		}
		defer func() { _ = src.Close() }()
		_, err = io.Copy(tw, src)
		return err
	})
	if err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}
