package matrix

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestWebCellPorts: a web pod publishes the hostIP port on its node's
// InternalIP in each family of the run, 127.0.0.1 when the run has IPv4, and
// the UDP hostPort on the probe container.
func TestWebCellPorts(t *testing.T) {
	for _, tc := range []struct {
		families []string
		ip, ip6  string
		want     string // hostIP/hostPort/protocol of each extra port, main container then probe
	}{
		{[]string{"ipv4"}, "172.18.0.3", "", "main 172.18.0.3/18092/TCP, main 127.0.0.1/18093/TCP, probe /18091/UDP"},
		{[]string{"ipv4", "ipv6"}, "172.18.0.3", "fc00::3", "main 172.18.0.3/18092/TCP, main fc00::3/18092/TCP, main 127.0.0.1/18093/TCP, probe /18091/UDP"},
		{[]string{"ipv6"}, "", "fc00::3", "main fc00::3/18092/TCP, probe /18091/UDP"},
	} {
		s := fakeSuite("podnet", true, true)
		s.families = tc.families
		w := s.workers[0]
		w.InternalIP, w.InternalIP6 = tc.ip, tc.ip6
		p := testPod(s, "web-w1", w.Name, "web", nil)
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "probe"})
		webCellPorts(s, w, p)
		var got []string
		for _, c := range p.Spec.Containers {
			for _, port := range c.Ports {
				got = append(got, fmt.Sprintf("%s %s/%d/%s", c.Name, port.HostIP, port.HostPort, port.Protocol))
			}
		}
		if g := strings.Join(got, ", "); g != tc.want {
			t.Errorf("%v: ports %s, want %s", tc.families, g, tc.want)
		}
	}
}

// TestLoopbackCellsSkipOnlyInIPv6: the 127.0.0.1 hostPort cells run in the
// IPv4 pass and say why they cannot in the IPv6 one.
func TestLoopbackCellsSkipOnlyInIPv6(t *testing.T) {
	for _, fam := range []string{"ipv4", "ipv6"} {
		s := fakeSuite("podnet", true, true)
		s.families = []string{"ipv4", "ipv6"}
		for _, r := range []row{rowHostPortLoopback(), rowHostPortLoopbackOther()} {
			for _, c := range r.rowCells(s, ipFamily(fam), nil) {
				if want := map[string]string{"ipv4": "", "ipv6": loopbackV6Reason}[fam]; c.skip != want {
					t.Errorf("%s: %s: skip %q, want %q", fam, c.name(), c.skip, want)
				}
			}
		}
	}
}

func TestRestartProblems(t *testing.T) {
	since := time.Date(2026, 12, 6, 21, 0, 0, 0, time.UTC)
	before, after := metav1.NewTime(since.Add(-time.Minute)), metav1.NewTime(since.Add(time.Minute))
	ready := []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	pod := func(name string, created metav1.Time, conds []corev1.PodCondition, cs ...corev1.ContainerStatus) corev1.Pod {
		return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: name, CreationTimestamp: created},
			Status: corev1.PodStatus{Conditions: conds, ContainerStatuses: cs}}
	}
	running := func(started metav1.Time, restarts int32) corev1.ContainerStatus {
		return corev1.ContainerStatus{Name: "c", RestartCount: restarts, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: started}}}
	}
	ended := running(after, 1)
	ended.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{FinishedAt: after, Reason: "Error", ExitCode: 2}
	oldRestart := running(before, 3) // restarted before the matrix: not this run's doing
	oldRestart.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{FinishedAt: before, Reason: "Error", ExitCode: 1}
	crash := corev1.ContainerStatus{Name: "c", RestartCount: 4, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}}
	for _, tc := range []struct {
		name string
		pod  corev1.Pod
		want string // substring of the one problem, "" for none
	}{
		{"steady", pod("kube-proxy-a", before, ready, running(before, 0)), ""},
		{"restarted before the run only", pod("kube-proxy-b", before, ready, oldRestart), ""},
		{"container ended during the run", pod("podnet-agent-c", before, ready, ended), "kube-system/podnet-agent-c container c restarted during the run (1 restarts; it ended 21:01:00: Error, exit code 2)"},
		{"started again, no last state", pod("kube-proxy-d", before, ready, running(after, 1)), "container c started again 21:01:00"},
		{"replaced", pod("podnet-agent-e", after, ready, running(after, 0)), "created 21:01:00, after the matrix began"},
		{"crash looping", pod("kube-proxy-f", before, nil, crash), "waiting: CrashLoopBackOff (4 restarts)"},
		{"not ready", pod("kube-proxy-g", before, nil, running(before, 0)), "kube-system/kube-proxy-g is not Ready"},
	} {
		got := restartProblems([]corev1.Pod{tc.pod}, since)
		switch {
		case tc.want == "" && len(got) != 0:
			t.Errorf("%s: problems %q, want none", tc.name, got)
		case tc.want != "" && (len(got) == 0 || !strings.Contains(got[0], tc.want)):
			t.Errorf("%s: problems %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestSandboxEvents(t *testing.T) {
	at := metav1.NewTime(time.Date(2026, 12, 6, 21, 5, 0, 0, time.UTC))
	ev := func(reason, pod string, count int32, host string) corev1.Event {
		return corev1.Event{Reason: reason, Count: count, LastTimestamp: at, Message: "failed to setup network for sandbox \"x\": plugin type=\"podnet\" failed (add)\n",
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: pod}, Source: corev1.EventSource{Host: host}}
	}
	got := sandboxEvents([]corev1.Event{
		ev("Scheduled", "web-w1", 1, ""),
		ev("FailedCreatePodSandBox", "web-w1", 3, "k-worker"),
		ev("Pulled", "web-w1", 1, "k-worker"),
		ev("FailedKillPodSandbox", "udp-old-ipv4", 0, ""),
	})
	want := []string{
		`FailedCreatePodSandBox pod/web-w1 x3 (last 21:05:00 on k-worker): failed to setup network for sandbox "x": plugin type="podnet" failed (add)`,
		`FailedKillPodSandbox pod/udp-old-ipv4 x1 (last 21:05:00 on ): failed to setup network for sandbox "x": plugin type="podnet" failed (add)`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("sandboxEvents:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := sandboxEvents([]corev1.Event{ev("Started", "web-w1", 1, "")}); len(got) != 0 {
		t.Errorf("no failures: %q", got)
	}
}

// TestLineWriter: the streamed exec output reaches the cell line by line,
// however the writes split it; an unfinished line stays for String.
func TestLineWriter(t *testing.T) {
	var lines []string
	w := &lineWriter{line: func(l string) { lines = append(lines, l) }}
	for _, chunk := range []string{"answer udp-old-ipv4 at", "_ms=120\nanswer udp-new", "-ipv4 at_ms=2310\nok until=udp-new-ipv4", " at_ms=2310"} {
		if _, err := w.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	if want := "answer udp-old-ipv4 at_ms=120|answer udp-new-ipv4 at_ms=2310"; strings.Join(lines, "|") != want {
		t.Errorf("lines %q, want %s", lines, want)
	}
	if got := w.String(); got != "ok until=udp-new-ipv4 at_ms=2310" {
		t.Errorf("String() = %q", got)
	}
	for line, want := range map[string]string{"answer udp-old-ipv4 at_ms=120": "udp-old-ipv4", "ok until=x": "", "answer": ""} {
		if got, ok := answerFrom(line); got != want || ok != (want != "") {
			t.Errorf("answerFrom(%q) = %q, %v", line, got, ok)
		}
	}
}

// TestUDPReplacedObjects: the Service selects the old backend only, in the
// pass's family; the new one joins by the label later.
func TestUDPReplacedObjects(t *testing.T) {
	s := fakeSuite("podnet", true, true)
	for _, fam := range []string{"ipv4", "ipv6"} {
		svc, old, nw := udpReplacedObjects(s, ipFamily(fam), "k-worker2")
		if string(svc.Spec.IPFamilies[0]) != map[string]string{"ipv4": "IPv4", "ipv6": "IPv6"}[fam] || svc.Spec.Selector[udpReplacedLabel] != fam {
			t.Errorf("%s: service %+v", fam, svc.Spec)
		}
		if old.Labels[udpReplacedLabel] != fam || nw.Labels[udpReplacedLabel] != "" || old.Name == nw.Name {
			t.Errorf("%s: old %s %v, new %s %v", fam, old.Name, old.Labels, nw.Name, nw.Labels)
		}
		if old.Spec.NodeSelector[corev1.LabelHostname] != "k-worker2" || !strings.Contains(strings.Join(old.Spec.Containers[0].Command, " "), "udp-name") {
			t.Errorf("%s: old backend %+v", fam, old.Spec)
		}
	}
}
