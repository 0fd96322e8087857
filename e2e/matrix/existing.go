package matrix

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/cnigate/cnigate/e2e/harness/nodenet"
	kindconfig "github.com/cnigate/cnigate/kind-config"
)

// Existing-cluster mode: the matrix against a cluster the harness did not
// make (called "gate mode" before; the rollout gate is `cnigate rollout`).
// How the cluster is reached, which families it serves, and cleaning up
// after killed runs.

// ClusterAccess are the options of existing-cluster mode (embedded in Options).
type ClusterAccess struct {
	// Context is the kubeconfig context to use (existing-cluster mode).
	Context string
	// ExistingCluster selects existing-cluster mode with client-go's loading
	// rules (KUBECONFIG, ~/.kube/config, else in-cluster when run as a pod)
	// when no kubeconfig file is named.
	ExistingCluster bool
	// Require names the behaviours that must run (see requireHelp).
	Require string
	// Cleanup deletes the test namespaces killed runs left and exits.
	Cleanup bool
	// Version is cnigate's version, for the record (set by the CLI).
	Version string
}

const requireHelp = "behaviours that must run, comma-separated: a profile (runnable: every behaviour the cluster's CNI can have, none, all) " +
	"or a regexp of behaviour names; a required behaviour that skips fails the run (default: runnable, enforced on kind clusters the harness made, " +
	"reported as NOT a full gate on an existing cluster)"

func (a *ClusterAccess) register(fs *flag.FlagSet, p func(string) string) {
	fs.StringVar(&a.Context, p("context"), "", "existing-cluster mode: the kubeconfig context to use (implies existing-cluster mode)")
	fs.BoolVar(&a.ExistingCluster, p("existing-cluster"), false,
		"existing-cluster mode with client-go's loading rules: $KUBECONFIG, else ~/.kube/config, else the pod's service account (in-cluster)")
	fs.StringVar(&a.Require, p("require"), "", requireHelp)
	fs.StringVar(&a.Version, p("cnigate-version"), "", "the cnigate version matrix.json's record names (cnigate e2e: its own; make e2e: the commit)")
	fs.BoolVar(&a.Cleanup, p("cleanup"), false, "delete the test namespaces (label "+runLabel+") and external-host containers that killed runs left on the cluster, then exit")
}

// Existing reports whether o runs against an existing cluster (nothing
// created, nothing installed) rather than a kind cluster it makes.
func (o Options) Existing() bool {
	return o.Kubeconfig != "" || o.Context != "" || o.ExistingCluster
}

func (a *ClusterAccess) validate() []error {
	var errs []error
	if _, err := parseRequire(a.Require); err != nil {
		errs = append(errs, err)
	}
	return errs
}

// runLabel marks the test namespaces, so --cleanup finds what a killed run left.
const runLabel = "cnigate.io/e2e-run"

// restConfig loads the client configuration of existing-cluster mode as
// kubectl does (client-go's loading rules: the named file, else $KUBECONFIG,
// else ~/.kube/config; the named context, else the current one; in-cluster
// when run as a pod without any kubeconfig) and says where it came from.
func restConfig(o Options) (*rest.Config, string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = o.Kubeconfig
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: o.Context})
	rc, err := cc.ClientConfig()
	if err != nil {
		return nil, "", fmt.Errorf("existing-cluster mode: no client configuration (kubeconfig %q, context %q, KUBECONFIG %q): %w",
			o.Kubeconfig, o.Context, os.Getenv(clientcmd.RecommendedConfigPathEnvVar), err)
	}
	raw, err := cc.RawConfig()
	if err != nil || len(raw.Contexts) == 0 {
		return rc, "in-cluster (the pod's service account)", nil
	}
	ctxName := o.Context
	if ctxName == "" {
		ctxName = raw.CurrentContext
	}
	var files []string
	for _, f := range rules.GetLoadingPrecedence() {
		if _, err := os.Stat(f); err == nil {
			files = append(files, f)
		}
	}
	return rc, fmt.Sprintf("kubeconfig %s, context %s", strings.Join(files, ":"), ctxName), nil
}

// clusterFamilies are the families an existing cluster serves: those of the
// nodes' spec.podCIDRs, else (a CNI that does without podCIDRs) those of
// the `kubernetes` Service; IPv4 when neither says.
func clusterFamilies(nodes []corev1.Node, apiSvc *corev1.Service) (fams []string, from string) {
	has := map[string]bool{}
	for _, n := range nodes {
		cidrs := podCIDRs(&n)
		for _, c := range cidrs {
			has[familyOf(c)] = true
		}
	}
	from = "the nodes' spec.podCIDRs"
	if len(has) == 0 && apiSvc != nil {
		from = "the kubernetes Service's ipFamilies"
		for _, f := range apiSvc.Spec.IPFamilies {
			has[map[corev1.IPFamily]string{corev1.IPv4Protocol: kindconfig.IPv4, corev1.IPv6Protocol: kindconfig.IPv6}[f]] = true
		}
		delete(has, "")
	}
	if len(has) == 0 {
		return []string{kindconfig.IPv4}, "nothing (no podCIDRs, no kubernetes Service families): IPv4 assumed"
	}
	for _, f := range []string{kindconfig.IPv4, kindconfig.IPv6} {
		if has[f] {
			fams = append(fams, f)
		}
	}
	return fams, from
}

func familyOf(cidr string) string {
	if strings.Contains(cidr, ":") {
		return kindconfig.IPv6
	}
	return kindconfig.IPv4
}

// pickFamilies: the passes to run on a cluster serving have. An explicit
// ip-family the cluster cannot serve is an error naming it; none runs
// every family the cluster has.
func pickFamilies(explicit string, have []string, from string) ([]string, error) {
	if explicit == "" {
		return have, nil
	}
	want := kindconfig.Families(explicit)
	if want == nil {
		return nil, fmt.Errorf("ip-family %q: want ipv4, ipv6 or dual", explicit)
	}
	for _, f := range want {
		if !slices.Contains(have, f) {
			return nil, fmt.Errorf("ip-family %s: the cluster has no %s (it serves %s, from %s)", explicit, f, strings.Join(have, " and "), from)
		}
	}
	return want, nil
}

// pullPolicy is the test pods' imagePullPolicy: the one given, else Never
// on kind (the harness loads the image) and IfNotPresent on an existing
// cluster (its nodes may pull it from a registry).
func pullPolicy(o Options) corev1.PullPolicy {
	switch {
	case o.ImagePullPolicy != "":
		return corev1.PullPolicy(o.ImagePullPolicy)
	case o.Existing():
		return corev1.PullIfNotPresent
	}
	return corev1.PullNever
}

// Cleanup deletes what killed runs left on the cluster of o: the test
// namespaces (label runLabel) and, when docker runs here, their
// external-host containers. It reports each to out.
func Cleanup(ctx context.Context, o Options, out io.Writer) error {
	rc, access, err := restConfig(o)
	if err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "cleanup: %s\n", access)
	var rmContainer func(string) (bool, error)
	if nodenet.DockerAvailable(ctx) {
		rmContainer = func(name string) (bool, error) {
			if _, err := nodenet.Docker(ctx, "inspect", name); err != nil {
				return false, nil // no such container
			}
			_, err := nodenet.Docker(ctx, "rm", "-f", name)
			return err == nil, err
		}
	}
	return cleanup(ctx, cs, out, rmContainer)
}

// cleanup deletes the namespaces labelled runLabel and, with rmContainer
// (docker here), their external hosts.
func cleanup(ctx context.Context, cs kubernetes.Interface, out io.Writer, rmContainer func(string) (bool, error)) error {
	list, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: runLabel})
	if err != nil {
		return fmt.Errorf("cleanup: list namespaces labelled %s: %w", runLabel, err)
	}
	fmt.Fprintf(out, "%d test namespaces labelled %s\n", len(list.Items), runLabel)
	var errs []error
	for _, ns := range list.Items {
		err := cs.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{})
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			errs = append(errs, fmt.Errorf("delete namespace %s: %w", ns.Name, err))
			continue
		}
		fmt.Fprintf(out, "deleted namespace %s (created %s)\n", ns.Name, ns.CreationTimestamp.UTC().Format("2006-01-02 15:04:05Z"))
		if rmContainer != nil {
			name := externalHostName(ns.Name)
			removed, err := rmContainer(name)
			if err != nil {
				errs = append(errs, fmt.Errorf("remove container %s: %w", name, err))
			} else if removed {
				fmt.Fprintf(out, "removed container %s\n", name)
			}
		}
	}
	return errors.Join(errs...)
}

// externalHostName is the external host container of an existing-cluster run.
func externalHostName(namespace string) string { return namespace + "-external" }
