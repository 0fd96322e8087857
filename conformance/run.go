package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/containernetworking/cni/libcni"
	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
	. "github.com/onsi/gomega"

	"github.com/cnigate/cnigate/cnitest"
)

// Description is the suite's name in every report.
const Description = "CNI plugin conformance"

// Options is what one run of the suite tests.
type Options struct {
	// Plugin is the plugin binary; CNIPath the CNI_PATH it gets (default:
	// the binary's directory).
	Plugin, CNIPath string
	// NetConfName names NetConf in messages (its file).
	NetConfName string
	// NetConf is the plugin's network config: a Go template with the
	// cnitest.NetConfParams placeholders, or a plain netconf (the suite sets
	// cniVersion and name, and the profile's knobs).
	NetConf []byte
	// ConfList: NetConf is a conflist; its first plugin is under test, with
	// the config libcni hands it (the list's cniVersion and name).
	ConfList bool
	// ChainCNIPath holds upstream portmap for the chaining specs ("": the
	// plugin's CNIPath).
	ChainCNIPath string
	Profile      Profile
}

// Run runs the suite against o: every spec registered by this package,
// filtered and reported as suite and reporter say. It must be called once
// per process (Ginkgo's rule). It returns whether every spec that ran
// passed, or an error when the suite could not start.
func Run(t GinkgoTestingT, o Options, suite types.SuiteConfig, reporter types.ReporterConfig) (bool, error) {
	if os.Geteuid() != 0 && !suite.DryRun { // a dry run (cnigate conformance --list) creates nothing
		return false, errors.New("the netns conformance suite creates network namespaces and must run as root")
	}
	c, err := configure(o)
	if err != nil {
		return false, err
	}
	cfg = c
	// A label filter or focus that matches nothing must not read as a pass.
	suite.FailOnEmpty = true
	RegisterFailHandler(Fail)
	return RunSpecs(t, Description, suite, reporter), nil
}

// HostError says the machine cannot run the plugin at all (its kernel
// lacks a link kind the profile names): nothing ran.
type HostError struct{ Err error }

func (e HostError) Error() string { return "this host cannot run the plugin: " + e.Err.Error() }
func (e HostError) Unwrap() error { return e.Err }

func configure(o Options) (SuiteConfig, error) {
	plugin, err := cnitest.NewPlugin(o.Plugin, o.CNIPath)
	if err != nil {
		return SuiteConfig{}, fmt.Errorf("plugin %s: %w", o.Plugin, err)
	}
	data := o.NetConf
	if o.ConfList {
		if data, err = firstOfList(o.NetConfName, data); err != nil {
			return SuiteConfig{}, err
		}
	}
	netconf, err := cnitest.ParseNetConf(o.NetConfName, data, o.Profile.NetConf)
	if err != nil {
		return SuiteConfig{}, err
	}
	if o.Profile.IPAM.Kind == "" {
		o.Profile.IPAM.Kind = IPAMDir
	}
	if o.Profile.IPAM.Kind == IPAMDir && !netconf.IsTemplate() && netconf.Knobs().DataDir == "" {
		return SuiteConfig{}, fmt.Errorf("netconf %s: no data dir knob (dataDir, ipam.dataDir) and the profile's ipam.kind is dir: "+
			"set the profile's netconf.dataDir to the field holding the plugin's state directory", o.NetConfName)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	versions, err := plugin.Versions(ctx)
	if err != nil {
		return SuiteConfig{}, fmt.Errorf("asking %s for its versions: %w", plugin.Path, err)
	}
	for _, kind := range o.Profile.Fixtures.KernelLinks {
		if err := cnitest.CanCreateLink(kind); err != nil {
			return SuiteConfig{}, HostError{err}
		}
	}
	chain := o.ChainCNIPath
	if chain == "" {
		chain = plugin.CNIPath
	}
	return SuiteConfig{Plugin: plugin, NetConf: netconf, profile: o.Profile, Versions: versions, chainCNIPath: chain}, nil
}

// firstOfList returns the config libcni hands the first plugin of a
// conflist: its entry with the list's cniVersion and name.
func firstOfList(name string, data []byte) ([]byte, error) {
	list, err := libcni.ConfListFromBytes(data)
	if err != nil {
		return nil, fmt.Errorf("conflist %s: %w", name, err)
	}
	if len(list.Plugins) == 0 {
		return nil, fmt.Errorf("conflist %s has no plugins", name)
	}
	var first map[string]any
	if err := json.Unmarshal(list.Plugins[0].Bytes, &first); err != nil {
		return nil, fmt.Errorf("conflist %s: %w", name, err)
	}
	first["cniVersion"], first["name"] = list.CNIVersion, list.Name
	return json.Marshal(first)
}

// OptionsFromEnv builds Options from PLUGIN, NETCONF, CONFLIST (a conflist
// instead of NETCONF), CNI_PATH, CHAIN_CNI_PATH and PROFILE, for `go test
// ./netns-tests`; the plugin and the netconf the environment leaves out are
// fallback's (the runner's default plugin: the suite has none).
func OptionsFromEnv(getenv func(string) string, fallback Options) (Options, error) {
	o := Options{Plugin: getenv("PLUGIN"), CNIPath: getenv("CNI_PATH"), ChainCNIPath: getenv("CHAIN_CNI_PATH")}
	if o.Plugin == "" {
		o.Plugin = fallback.Plugin
	}
	if o.Plugin == "" {
		return Options{}, errors.New("PLUGIN is empty: name the plugin binary under test")
	}
	var err error
	switch {
	case getenv("CONFLIST") != "":
		o.NetConfName, o.ConfList = getenv("CONFLIST"), true
		o.NetConf, err = os.ReadFile(o.NetConfName)
	case getenv("NETCONF") != "":
		o.NetConfName = getenv("NETCONF")
		o.NetConf, err = os.ReadFile(o.NetConfName)
	case fallback.NetConf != nil:
		o.NetConfName, o.NetConf, o.ConfList = fallback.NetConfName, fallback.NetConf, fallback.ConfList
	default:
		err = errors.New("NETCONF and CONFLIST are empty: name the plugin's network config")
	}
	if err != nil {
		return Options{}, fmt.Errorf("netconf: %w", err)
	}
	if path := getenv("PROFILE"); path != "" {
		if o.Profile, err = LoadProfile(path); err != nil {
			return Options{}, err
		}
	}
	return o, nil
}
