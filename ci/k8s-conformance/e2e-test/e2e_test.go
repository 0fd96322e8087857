// Package e2etest builds e2e.test for cnigate's optional upstream conformance stage
// (ci/k8s-conformance.sh): the TestMain/TestE2E of k8s.io/kubernetes/test/e2e/e2e_test.go, but
// with only the suites that hold [sig-network] specs (test/e2e/network, and
// test/e2e/common/network through test/e2e's own import of common), so it compiles much less
// than upstream's binary.
package e2etest

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"k8s.io/component-base/version"
	conformancetestdata "k8s.io/kubernetes/test/conformance/testdata"
	"k8s.io/kubernetes/test/e2e"
	"k8s.io/kubernetes/test/e2e/framework"
	"k8s.io/kubernetes/test/e2e/framework/config"
	"k8s.io/kubernetes/test/e2e/framework/testfiles"
	e2etestingmanifests "k8s.io/kubernetes/test/e2e/testing-manifests"
	testfixtures "k8s.io/kubernetes/test/fixtures"
	imageutils "k8s.io/kubernetes/test/utils/image"

	// define and freeze constants, as upstream's e2e_test.go
	_ "k8s.io/kubernetes/test/e2e/feature"

	// the specs: test/e2e/network; test/e2e (RunE2ETests) already imports test/e2e/common
	_ "k8s.io/kubernetes/test/e2e/network"

	// reconfigure the framework, as upstream's e2e_test.go
	_ "k8s.io/kubernetes/test/e2e/framework/debug/init"
	_ "k8s.io/kubernetes/test/e2e/framework/metrics/init"
	_ "k8s.io/kubernetes/test/e2e/framework/node/init"
	_ "k8s.io/kubernetes/test/utils/format"
)

// builtImages are the e2e test images the [sig-network] Conformance specs run, which
// ci/k8s-conformance.sh builds locally: -cnigate-images prints "<name> <reference>" for each, the
// reference exactly as this binary will ask for it (KUBE_TEST_REPO_LIST applies).
var builtImages = []struct {
	name string
	id   imageutils.ImageID
}{
	{"agnhost", imageutils.Agnhost},
	{"jessie-dnsutils", imageutils.JessieDnsutils},
	{"nginx", imageutils.Nginx},
	{"busybox", imageutils.BusyBox},
}

func TestMain(m *testing.M) {
	var versionFlag, imagesFlag bool
	flag.CommandLine.BoolVar(&versionFlag, "version", false, "Displays version information.")
	flag.CommandLine.BoolVar(&imagesFlag, "cnigate-images", false, "Print the e2e test images ci/k8s-conformance.sh builds (name and reference) and exit.")
	config.CopyFlags(config.Flags, flag.CommandLine)
	framework.RegisterCommonFlags(flag.CommandLine)
	framework.RegisterClusterFlags(flag.CommandLine)
	flag.Parse()

	if versionFlag {
		fmt.Println(version.Get())
		os.Exit(0)
	}
	if imagesFlag {
		for _, i := range builtImages {
			fmt.Println(i.name, imageutils.GetE2EImage(i.id))
		}
		os.Exit(0)
	}
	if flag.CommandLine.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "unknown additional command line arguments: %s\n", flag.CommandLine.Args())
		os.Exit(1)
	}
	// The manifests and fixtures some specs read, embedded as upstream does.
	testfiles.AddFileSource(e2etestingmanifests.GetE2ETestingManifestsFS())
	testfiles.AddFileSource(testfixtures.GetTestFixturesFS())
	testfiles.AddFileSource(conformancetestdata.GetConformanceTestdataFS())

	framework.AfterReadingAllFlags(&framework.TestContext)
	os.Exit(m.Run())
}

func TestE2E(t *testing.T) { e2e.RunE2ETests(t) }
