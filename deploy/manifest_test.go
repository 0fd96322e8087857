package deploy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"
)

var update = flag.Bool("update", false, "rewrite testdata/*.yaml from the renderer")

// decode parses every document of a rendered manifest strictly (unknown or
// duplicate fields are errors) into the API types.
func decode(t *testing.T, raw []byte) []runtime.Object {
	t.Helper()
	strict := serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict).UniversalDeserializer()
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(raw)))
	var objs []runtime.Object
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		obj, _, err := strict.Decode(doc, nil, nil)
		if err != nil {
			t.Fatalf("document %d: %v\n%s", len(objs), err, doc)
		}
		objs = append(objs, obj)
	}
	return objs
}

// byKind decodes a rendered manifest (decode) and groups its objects by kind.
func byKind(t *testing.T, raw []byte) map[string][]runtime.Object {
	t.Helper()
	objs := map[string][]runtime.Object{}
	for _, obj := range decode(t, raw) {
		k := obj.GetObjectKind().GroupVersionKind().Kind
		objs[k] = append(objs[k], obj)
	}
	return objs
}

// wantOne fails the test for each of kinds that objs does not hold exactly once.
func wantOne(t *testing.T, objs map[string][]runtime.Object, kinds ...string) {
	t.Helper()
	for _, k := range kinds {
		if n := len(objs[k]); n != 1 {
			t.Errorf("%d %s objects, want 1", n, k)
		}
	}
}

// only is the first object of kind in objs as T; the test stops when there is none.
func only[T runtime.Object](t *testing.T, objs map[string][]runtime.Object, kind string) T {
	t.Helper()
	if len(objs[kind]) == 0 {
		t.Fatalf("no %s object", kind)
	}
	v, ok := objs[kind][0].(T)
	if !ok {
		t.Fatalf("the %s object is a %T", kind, objs[kind][0])
	}
	return v
}

func TestRenderGolden(t *testing.T) {
	for _, tc := range []struct {
		file   string
		render func() ([]byte, error)
	}{
		{"ipv4.yaml", func() ([]byte, error) {
			return Render(Options{Image: "cnigate/podnet-agent:v1", Network: "10.244.0.0/16"})
		}},
		{"dual.yaml", func() ([]byte, error) {
			return Render(Options{Image: "registry.example/podnet-agent:v1", ImagePullPolicy: "Always", Network: "10.244.0.0/16", Network6: "fd00:10:244::/56", MTU: 1450, Routes: RoutesNone, APIServer: "[fc00::2]:6443", Env: map[string]string{"B": "2", "A": "x y"}})
		}},
		{"uninstall-node.yaml", func() ([]byte, error) {
			return RenderUninstall(Options{Image: "cnigate/podnet-agent:v1", Network: "10.244.0.0/16"}, "worker-1")
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			raw, err := tc.render()
			if err != nil {
				t.Fatal(err)
			}
			compareGolden(t, tc.file, raw)
			decode(t, raw)
		})
	}
}

func TestRenderObjects(t *testing.T) {
	o := Options{Image: "img:1", Network: "10.244.0.0/16", Network6: "fd00:10:244::/56", Env: map[string]string{"PODNET_DEFECT": "drop-routes"}}
	raw, err := Render(o)
	if err != nil {
		t.Fatal(err)
	}
	objs := byKind(t, raw)
	wantOne(t, objs, "Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "ConfigMap", "DaemonSet")
	ds := only[*appsv1.DaemonSet](t, objs, "DaemonSet")
	cm := only[*corev1.ConfigMap](t, objs, "ConfigMap")
	role := only[*rbacv1.ClusterRole](t, objs, "ClusterRole")
	spec := ds.Spec.Template.Spec
	c := spec.Containers[0]
	checks := []struct {
		what string
		ok   bool
	}{
		{"hostNetwork", spec.HostNetwork},
		{"system-node-critical", spec.PriorityClassName == "system-node-critical"},
		{"tolerates every taint", len(spec.Tolerations) == 1 && spec.Tolerations[0].Operator == corev1.TolerationOpExists && spec.Tolerations[0].Key == ""},
		{"RollingUpdate maxUnavailable 1", ds.Spec.UpdateStrategy.Type == appsv1.RollingUpdateDaemonSetStrategyType && ds.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable.IntValue() == 1},
		{"image", c.Image == "img:1" && c.ImagePullPolicy == corev1.PullIfNotPresent},
		{"probes", c.ReadinessProbe.HTTPGet.Path == "/readyz" && c.LivenessProbe.HTTPGet.Path == "/healthz"},
		{"requests", !c.Resources.Requests.Cpu().IsZero() && !c.Resources.Requests.Memory().IsZero()},
		{"NODE_NAME from spec.nodeName", c.Env[0].Name == "NODE_NAME" && c.Env[0].ValueFrom.FieldRef.FieldPath == "spec.nodeName"},
		{"extra env", len(c.Env) == 2 && c.Env[1].Name == "PODNET_DEFECT" && c.Env[1].Value == "drop-routes"},
	}
	for _, ch := range checks {
		if !ch.ok {
			t.Errorf("DaemonSet: not %s", ch.what)
		}
	}
	// hostPath mounts: exactly the four the agent needs.
	var paths []string
	for _, v := range spec.Volumes {
		if v.HostPath != nil {
			paths = append(paths, v.HostPath.Path)
		}
	}
	if got, want := strings.Join(paths, " "), "/opt/cni/bin /etc/cni/net.d /var/lib/cni/podnet /run/xtables.lock"; got != want {
		t.Errorf("hostPath volumes %q, want %q", got, want)
	}
	// RBAC: nodes read-only, events create/patch, nothing else.
	var rules []string
	for _, r := range role.Rules {
		rules = append(rules, strings.Join(r.APIGroups, ",")+"|"+strings.Join(r.Resources, ",")+"|"+strings.Join(r.Verbs, ","))
	}
	if got, want := strings.Join(rules, " "), "|nodes|list,watch |events|create,patch"; got != want {
		t.Errorf("ClusterRole rules %q, want %q", got, want)
	}
	// config.json carries the options, strictly.
	var cfg AgentConfig
	dec := json.NewDecoder(strings.NewReader(cm.Data[ConfigKey]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		t.Fatal(err)
	}
	if cfg != o.Config() || cfg.MTU != 1500 || cfg.Routes != RoutesNode || !cfg.IPMasq || !cfg.Portmap || !cfg.HairpinMode {
		t.Errorf("config.json %+v, want %+v", cfg, o.Config())
	}
	// A changed setting changes the pod template (the agents roll).
	raw2, err := Render(Options{Image: "img:1", Network: "10.244.0.0/16", Network6: "fd00:10:244::/56", MTU: 1400, Env: o.Env})
	if err != nil {
		t.Fatal(err)
	}
	if d := only[*appsv1.DaemonSet](t, byKind(t, raw2), "DaemonSet"); d.Spec.Template.Annotations[configHashKey] == ds.Spec.Template.Annotations[configHashKey] {
		t.Error("the config hash annotation did not change with the MTU")
	}
}

func TestValidate(t *testing.T) {
	ok := Options{Image: "i", Network: "10.244.0.0/16"}
	for _, tc := range []struct {
		name  string
		edit  func(*Options)
		field string // "" = valid
	}{
		{"valid ipv4", func(*Options) {}, ""},
		{"valid ipv6 only", func(o *Options) { o.Network, o.Network6 = "", "fd00:10:244::/56" }, ""},
		{"no image", func(o *Options) { o.Image = "" }, "image"},
		{"bad pull policy", func(o *Options) { o.ImagePullPolicy = "Sometimes" }, "image pull policy"},
		{"no network", func(o *Options) { o.Network = "" }, "network"},
		{"network not a CIDR", func(o *Options) { o.Network = "10.244.0.0" }, "network"},
		{"network is IPv6", func(o *Options) { o.Network = "fd00::/8" }, "network"},
		{"network6 is IPv4", func(o *Options) { o.Network6 = "10.0.0.0/8" }, "network6"},
		{"mtu too small", func(o *Options) { o.MTU = 67 }, "mtu"},
		{"mtu too big", func(o *Options) { o.MTU = 65536 }, "mtu"},
		{"routes", func(o *Options) { o.Routes = "bgp" }, "routes"},
		{"env name", func(o *Options) { o.Env = map[string]string{"A=B": "x"} }, "env"},
		{"api server", func(o *Options) { o.APIServer = "172.18.0.2:6443" }, ""},
		{"cni version 1.1.0", func(o *Options) { o.CNIVersion = "1.1.0" }, ""},
		{"cni version 0.4.0", func(o *Options) { o.CNIVersion = "0.4.0" }, "cni version"},
		{"api server ipv6", func(o *Options) { o.APIServer = "[fc00::2]:6443" }, ""},
		{"api server without port", func(o *Options) { o.APIServer = "172.18.0.2" }, "api server"},
		{"api server bad port", func(o *Options) { o.APIServer = "h:0" }, "api server"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := ok
			tc.edit(&o)
			_, err := Render(o)
			switch {
			case tc.field == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tc.field != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.field+":")):
				t.Fatalf("error %v, want one naming %q", err, tc.field)
			}
		})
	}
}

func TestRenderUninstall(t *testing.T) {
	for _, node := range []string{"", "w1"} {
		raw, err := RenderUninstall(Options{Image: "img:1", Network: "10.244.0.0/16"}, node)
		if err != nil {
			t.Fatal(err)
		}
		objs := byKind(t, raw)
		// it stands alone: its namespace and settings, nothing else
		if len(objs) != 3 || len(objs["Namespace"]) != 1 || len(objs["ConfigMap"]) != 1 || len(objs["DaemonSet"]) != 1 {
			t.Fatalf("objects %v, want a Namespace, a ConfigMap and a DaemonSet", objs)
		}
		ds := only[*appsv1.DaemonSet](t, objs, "DaemonSet")
		if ds.Name != UninstallDaemonSet || ds.Namespace != Namespace {
			t.Fatalf("DaemonSet %s/%s", ds.Namespace, ds.Name)
		}
		spec := ds.Spec.Template.Spec
		if got := strings.Join(spec.Containers[0].Args, " "); got != "uninstall --wait" {
			t.Errorf("args %q", got)
		}
		if spec.ServiceAccountName != "" || spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
			t.Errorf("the uninstall pod needs no API access: serviceAccountName %q, automount %v", spec.ServiceAccountName, spec.AutomountServiceAccountToken)
		}
		var onNode string
		if a := spec.Affinity; a != nil {
			f := a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchFields[0]
			if f.Key == "metadata.name" && f.Operator == corev1.NodeSelectorOpIn && len(f.Values) == 1 {
				onNode = f.Values[0]
			}
		}
		if onNode != node {
			t.Errorf("pinned to node %q (metadata.name), want %q", onNode, node)
		}
		if len(spec.Volumes) != 5 || spec.Containers[0].ReadinessProbe == nil {
			t.Errorf("the uninstall pod must have the agent's mounts and a readiness probe: %+v", spec)
		}
	}
	if _, err := RenderUninstall(Options{Image: "img:1", Network: "10.244.0.0/16"}, "a: b\n  evil: x"); err == nil || !strings.HasPrefix(err.Error(), "node:") {
		t.Errorf("a bad node name: %v, want an error naming node", err)
	}
}

// compareGolden compares a rendered manifest with testdata/<file>, which
// `go test ./deploy -update` rewrites after a deliberate change.
func compareGolden(t *testing.T, file string, raw []byte) {
	t.Helper()
	path := filepath.Join("testdata", file)
	if *update {
		if err := os.WriteFile(path, raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./deploy -update writes it)", err)
	}
	if !bytes.Equal(raw, want) {
		t.Errorf("rendered manifest differs from %s (go test ./deploy -update rewrites it after a deliberate change)", path)
	}
}
