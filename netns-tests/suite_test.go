package netnstests_test

import (
	"os"
	"testing"

	. "github.com/onsi/ginkgo/v2"

	"github.com/cnigate/cnigate/conformance"
	"github.com/cnigate/cnigate/conformance/podnetspecs" // registers podnet's own specs
)

// TestConformance keeps `go test ./netns-tests` working: it runs the
// conformance package's specs and podnet's own (package podnetspecs; the ones
// `cnigate conformance` runs) against
// PLUGIN (default ../bin/podnet) with NETCONF (default podnet's template),
// CNI_PATH, CHAIN_CNI_PATH and PROFILE from the environment, and Ginkgo's
// own flags (-ginkgo.label-filter, -ginkgo.json-report, ...).
func TestConformance(t *testing.T) {
	podnet, err := podnetspecs.DefaultOptions()
	if err != nil {
		t.Fatal(err)
	}
	o, err := conformance.OptionsFromEnv(os.Getenv, podnet)
	if err != nil {
		t.Fatal(err)
	}
	suite, reporter := GinkgoConfiguration()
	ok, err := conformance.Run(t, o, suite, reporter)
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		t.Fail()
	}
}
