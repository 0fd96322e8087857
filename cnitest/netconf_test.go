package cnitest

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestPlainNetConfTakesTheKnobs(t *testing.T) {
	params := NetConfParams{CNIVersion: "1.1.0", Name: "cnitest", DataDir: "/tmp/d", Network: "10.99.0.0/16", Subnet: "10.99.1.0/29",
		Network6: "fd00:10:99::/48", Subnet6: "fd00:10:99:1::/64", MTU: 1400}
	for _, tc := range []struct {
		name  string
		conf  string
		knobs NetConfKnobs
		want  map[string]any // dotted path -> value after rendering
		err   string
	}{
		{"podnet's top-level fields, found without knobs",
			`{"cniVersion":"0.3.0","name":"x","type":"podnet","network":"10.0.0.0/8","subnet":"10.1.0.0/24","mtu":1500,"dataDir":"/var/lib/x"}`,
			NetConfKnobs{},
			map[string]any{"cniVersion": "1.1.0", "name": "cnitest", "network": "10.99.0.0/16", "subnet": "10.99.1.0/29", "mtu": 1400.0, "dataDir": "/tmp/d"}, ""},
		{"host-local's ranges, found without knobs",
			`{"type":"ptp","ipam":{"type":"host-local","dataDir":"/x","ranges":[[{"subnet":"10.1.0.0/24"}]]}}`,
			NetConfKnobs{},
			map[string]any{"ipam.dataDir": "/tmp/d", "ipam.ranges.0.0.subnet": "10.99.1.0/29", "name": "cnitest"}, ""},
		{"podnet dual-stack: the IPv6 pair found without knobs",
			`{"type":"podnet","network":"10.0.0.0/8","subnet":"10.1.0.0/24","network6":"fd00::/48","subnet6":"fd00:0:0:1::/64"}`,
			NetConfKnobs{},
			map[string]any{"network6": "fd00:10:99::/48", "subnet6": "fd00:10:99:1::/64", "subnet": "10.99.1.0/29"}, ""},
		{"host-local's second range, the IPv6 one, at the profile's path",
			`{"type":"bridge","ipam":{"type":"host-local","ranges":[[{"subnet":"10.1.0.0/24"}],[{"subnet":"fd00::/64"}]]}}`,
			NetConfKnobs{Subnet6: "ipam.ranges.1.0.subnet"},
			map[string]any{"ipam.ranges.0.0.subnet": "10.99.1.0/29", "ipam.ranges.1.0.subnet": "fd00:10:99:1::/64"}, ""},
		{"a knob the profile names",
			`{"type":"x","state":{"dir":"/x"}}`,
			NetConfKnobs{DataDir: "state.dir"},
			map[string]any{"state.dir": "/tmp/d"}, ""},
		{"no mtu field: none added",
			`{"type":"host-device","device":"d0"}`,
			NetConfKnobs{},
			map[string]any{"device": "d0"}, ""},
		{"a knob naming a missing field", `{"type":"x"}`, NetConfKnobs{Subnet: "ipam.subnet"}, nil, `knob subnet: ipam.subnet: no "ipam"`},
		{"an index out of range", `{"ipam":{"ranges":[]}}`, NetConfKnobs{Subnet: "ipam.ranges.0.0.subnet"}, nil, `no element "0"`},
		{"not an object", `[1]`, NetConfKnobs{}, nil, "not a JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmpl, err := ParseNetConf("test.json", []byte(tc.conf), tc.knobs)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			out, err := tmpl.Render(params)
			if err != nil {
				t.Fatal(err)
			}
			var obj map[string]any
			if err := json.Unmarshal(out, &obj); err != nil {
				t.Fatal(err)
			}
			if _, hasMTU := obj["mtu"]; hasMTU && tc.want["mtu"] == nil {
				t.Errorf("mtu added: %s", out)
			}
			for path, want := range tc.want {
				got, err := lookupPath(obj, path)
				if err != nil || got != want {
					t.Errorf("%s = %v (%v), want %v in %s", path, got, err, want, out)
				}
			}
		})
	}
}

func TestEmptyIPv6KnobsLeaveThePlainNetConfIPv4Only(t *testing.T) {
	tmpl, err := ParseNetConf("dual.json", []byte(`{"type":"podnet","network":"10.0.0.0/8","subnet":"10.1.0.0/24","network6":"fd00::/48","subnet6":"fd00:0:0:1::/64"}`), NetConfKnobs{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := tmpl.Render(NetConfParams{CNIVersion: "1.0.0", Name: "n", Network: "10.99.0.0/16", Subnet: "10.99.1.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	var obj map[string]any
	if err := json.Unmarshal(out, &obj); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"network6", "subnet6"} {
		if _, found := obj[key]; found {
			t.Errorf("%s kept in the IPv4-only render: %s", key, out)
		}
	}
	if obj["subnet"] != "10.99.1.0/24" {
		t.Errorf("subnet %v: %s", obj["subnet"], out)
	}
}

func TestTemplateNetConfStillRenders(t *testing.T) {
	tmpl, err := ParseNetConf("t.tmpl", []byte(`{"cniVersion":"{{.CNIVersion}}","name":"{{.Name}}","mtu":{{.MTU}}}`), NetConfKnobs{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := tmpl.Render(NetConfParams{CNIVersion: "1.0.0", Name: "n", MTU: 9000})
	if err != nil || string(out) != `{"cniVersion":"1.0.0","name":"n","mtu":9000}` {
		t.Fatalf("%s, %v", out, err)
	}
	if !tmpl.IsTemplate() {
		t.Error("IsTemplate false for a template")
	}
}

func TestCNIEnvIsTheOneEnvironment(t *testing.T) {
	inv := Invocation{Command: "ADD", ContainerID: "c1", NetNS: "/run/netns/p", IfName: "eth0"}
	got := strings.Join(inv.CNIEnv("/opt/cni/bin").List(), " ")
	want := "CNI_COMMAND=ADD CNI_CONTAINERID=c1 CNI_IFNAME=eth0 CNI_NETNS=/run/netns/p CNI_PATH=/opt/cni/bin"
	if got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
