package main

import (
	"strings"
	"testing"
	"time"
)

func TestParseName(t *testing.T) {
	for _, tc := range []struct {
		self, target, err string
		delay             time.Duration
		spin              bool
		commands          string
	}{
		{self: "/b/podnet+5ms", target: "/b/podnet", delay: 5 * time.Millisecond, commands: "ADD"},
		{self: "bin/podnet+1.5ms@ADD,DEL", target: "bin/podnet", delay: 1500 * time.Microsecond, commands: "ADD,DEL"},
		{self: "/b/podnet+0s", target: "/b/podnet", commands: "ADD"},
		{self: "/b/podnet%400us", target: "/b/podnet", delay: 400 * time.Microsecond, spin: true, commands: "ADD"},
		{self: "/b/podnet%1ms@DEL", target: "/b/podnet", delay: time.Millisecond, spin: true, commands: "DEL"},
		{self: "/b/%1ms", err: "is not NAME+DURATION"},
		{self: "/b/podnet", err: "is not NAME+DURATION"},
		{self: "/b/+5ms", err: "is not NAME+DURATION"},
		{self: "/b/podnet+5", err: `duration "5"`},
		{self: "/b/podnet+-5ms", err: `duration "-5ms"`},
	} {
		t.Run(tc.self, func(t *testing.T) {
			c, err := parseName(tc.self)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("parseName = %+v, %v; want an error containing %q", c, err, tc.err)
				}
				return
			}
			if err != nil || c.target != tc.target || c.delay != tc.delay || c.spin != tc.spin || strings.Join(c.commands, ",") != tc.commands {
				t.Fatalf("parseName = %+v, %v; want target %s, delay %v, commands %s", c, err, tc.target, tc.delay, tc.commands)
			}
		})
	}
}
