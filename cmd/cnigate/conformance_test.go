package main

import (
	"slices"
	"testing"

	"github.com/cnigate/cnigate/internal/testfilter"
)

// --test on conformance: the plain expressions are Ginkgo's focus strings
// (with --focus), the '!' ones its skip strings; --list is a dry run.
func TestConformanceSelection(t *testing.T) {
	for _, tc := range []struct {
		name       string
		test       []string
		focus      string
		list       bool
		wantFocus  []string
		wantSkip   []string
		wantDryRun bool
		wantLabels string
	}{
		{name: "nothing selected: every spec of the labels"},
		{name: "include and exclude", test: []string{"DEL,!cniVersion 0\\."}, wantFocus: []string{"DEL"}, wantSkip: []string{"cniVersion 0\\."}},
		{name: "repeated, with --focus", test: []string{"ADD", "!chain"}, focus: "STATUS", wantFocus: []string{"ADD", "STATUS"}, wantSkip: []string{"chain"}},
		{name: "list", test: []string{"!ipv6"}, list: true, wantSkip: []string{"ipv6"}, wantDryRun: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := testfilter.Parse(tc.test...)
			if err != nil {
				t.Fatal(err)
			}
			s := conformanceRun{tests: f, focus: tc.focus, list: tc.list, labels: "generic"}.suiteConfig()
			if !slices.Equal(s.FocusStrings, tc.wantFocus) || !slices.Equal(s.SkipStrings, tc.wantSkip) || s.DryRun != tc.wantDryRun || s.LabelFilter != "generic" {
				t.Errorf("focus %q skip %q dry run %v labels %q; want %q %q %v", s.FocusStrings, s.SkipStrings, s.DryRun, s.LabelFilter, tc.wantFocus, tc.wantSkip, tc.wantDryRun)
			}
		})
	}
}
