package main

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/types"

	"github.com/cnigate/cnigate/plugin/ipam"
)

func TestGCListEntries(t *testing.T) {
	conf := `{"cniVersion":"1.1.0","name":"n","type":"podnet","network":"10.244.0.0/16","subnet":"10.244.1.0/24","cni.dev/valid-attachments":`
	c1 := ipam.Attachment{ContainerID: "c1", IfName: "eth0"}
	tests := []struct {
		name, list string
		want       map[ipam.Attachment]bool
		wantErr    string // in the code-7 message
	}{
		{name: "valid", list: `[{"containerID":"c1","ifname":"eth0"}]`, want: map[ipam.Attachment]bool{c1: true}},
		{name: "an unknown extra key is ignored", list: `[{"containerID":"c1","ifname":"eth0","podUID":"x"}]`, want: map[ipam.Attachment]bool{c1: true}},
		{name: "no ifname", list: `[{"containerID":"c1"}]`, wantErr: `entry 0 has no "ifname"`},
		{name: "no containerID", list: `[{"containerID":"c1","ifname":"eth0"},{"ifname":"eth0"}]`, wantErr: `entry 1 has no "containerID"`},
		{name: "empty object", list: `[{}]`, wantErr: `entry 0 has no "containerID"`},
		{name: "ifName", list: `[{"containerID":"c1","ifName":"eth0"}]`, wantErr: `"ifname", not "ifName"`},
		{name: "containerId", list: `[{"containerId":"c1","ifname":"eth0"}]`, wantErr: `"containerID", not "containerId"`},
		{name: "empty ifname", list: `[{"containerID":"c1","ifname":""}]`, wantErr: `"ifname" must be a non-empty string`},
		{name: "ifname a number", list: `[{"containerID":"c1","ifname":0}]`, wantErr: `"ifname" must be a non-empty string`},
		{name: "entry a string", list: `["c1"]`, wantErr: "entry 0 is not an object"},
		{name: "entry null", list: `[null]`, wantErr: "entry 0 is not an object"},
		{name: "not a list", list: `"all"`, wantErr: "not a list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, _, err := loadNetConf([]byte(conf + tt.list + "}"))
			if err != nil {
				t.Fatal(err)
			}
			keep, err := n.gcKeep()
			if tt.wantErr == "" {
				if err != nil || fmt.Sprint(keep) != fmt.Sprint(tt.want) {
					t.Fatalf("keep = %v, %v; want %v", keep, err, tt.want)
				}
				return
			}
			var cniErr *types.Error
			if !errors.As(err, &cniErr) || cniErr.Code != types.ErrInvalidNetworkConfig ||
				!strings.Contains(cniErr.Msg, `"cni.dev/valid-attachments"`) || !strings.Contains(cniErr.Msg, tt.wantErr) {
				t.Fatalf("error %v, want code 7 naming the field and saying %s", err, tt.wantErr)
			}
		})
	}
}
