package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/cnigate/cnigate/plugin/ipam"
	"github.com/cnigate/cnigate/plugin/rules"
)

// Options configure an Agent. Paths are as the agent's container sees them.
type Options struct {
	NodeName   string
	Config     *Config
	SourceDir  string // the binaries to install
	CNIBinDir  string
	CNIConfDir string
	Period     time.Duration // full reconcile at least this often
	Client     kubernetes.Interface
	Log        *slog.Logger

	// NetNS is the network namespace whose routes the agent owns; nil is
	// the agent's own (the node's: hostNetwork). Tests use a throwaway one.
	NetNS *netns.NsHandle
	// SysctlRoot is /proc/sys unless a test says otherwise.
	SysctlRoot string
	// Steps limits the reconcile to some steps (tests); nil runs them all.
	Steps map[string]bool
}

// errNotSynced: the Node informer has not listed the Nodes yet.
var errNotSynced = errors.New("waiting for the Node informer's first list (API server unreachable?); routes kept as they are")

// Agent is podnet-agent's node reconciler.
type Agent struct {
	opts      Options
	cfg       *Config
	log       *slog.Logger
	metrics   *metrics
	installer *Installer
	routes    routeTable
	tables    ruleTables

	nodes    corelisters.NodeLister
	synced   cache.InformerSynced
	recorder record.EventRecorder

	trigger  chan struct{}
	ready    atomic.Bool
	lastLoop atomic.Int64 // unix nanoseconds of the last finished reconcile
	mu       sync.Mutex   // one reconcile at a time
	problem  string       // the last node problem reported as an Event

	subscribe routeSubscribe  // nil: netlink.RouteSubscribeWithOptions
	raWarned  map[string]bool // interfaces warned about (warnRA), under mu
}

// New makes an Agent; Run starts it.
func New(opts Options) (*Agent, error) {
	if opts.NodeName == "" {
		return nil, errors.New("node name is empty: set --node-name or env NODE_NAME (the DaemonSet passes spec.nodeName)")
	}
	if opts.Config == nil || opts.Client == nil {
		return nil, errors.New("agent needs a config and a Kubernetes client")
	}
	if opts.Period <= 0 {
		return nil, fmt.Errorf("reconcile period %v must be positive", opts.Period)
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.SysctlRoot == "" {
		opts.SysctlRoot = "/proc/sys"
	}
	var h netlinksafe.Handle
	var err error
	if opts.NetNS != nil {
		h, err = netlinksafe.NewHandleAt(*opts.NetNS)
	} else {
		h, err = netlinksafe.NewHandle()
	}
	if err != nil {
		return nil, fmt.Errorf("netlink: %w", err)
	}
	a := &Agent{
		opts:    opts,
		cfg:     opts.Config,
		log:     opts.Log,
		metrics: newMetrics(),
		installer: &Installer{
			SrcDir: opts.SourceDir, DstDir: opts.CNIBinDir, StateDir: rules.AgentDir(opts.Config.DataDir), Names: Binaries,
		},
		routes:  routeTable{h: h},
		trigger: make(chan struct{}, 1),
	}
	return a, nil
}

func (a *Agent) step(name string) bool { return a.opts.Steps == nil || a.opts.Steps[name] }

// kick asks for a reconcile soon; kicks while one is pending coalesce.
func (a *Agent) kick() {
	select {
	case a.trigger <- struct{}{}:
	default:
	}
}

// Ready reports whether the last reconcile put everything in place.
func (a *Agent) Ready() bool { return a.ready.Load() }

// Handler serves /healthz, /readyz and /metrics.
func (a *Agent) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		// Alive while reconciles keep finishing: a reconcile wedged (e.g. on
		// the xtables lock) for many periods makes the kubelet restart us.
		last := time.Unix(0, a.lastLoop.Load())
		if limit := max(time.Minute, 6*a.opts.Period); a.lastLoop.Load() != 0 && time.Since(last) > limit {
			http.Error(w, fmt.Sprintf("no reconcile finished for %v", time.Since(last).Round(time.Second)), http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !a.Ready() {
			http.Error(w, "not ready: binaries, conf, routes and rules are not all in place yet", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.Handle("/metrics", promhttp.HandlerFor(a.metrics.registry, promhttp.HandlerOpts{}))
	return mux
}

// Run reconciles until ctx ends: on Node changes (informer), on changes of
// the agent's routes (netlink), and every period.
func (a *Agent) Run(ctx context.Context) error {
	a.log.Info("podnet-agent starting", "version", Version, "commit", Commit, "node", a.opts.NodeName,
		"routeProtocol", RouteProtocol, "routes", a.cfg.Routes, "period", a.opts.Period)
	if err := loadDefects(); err != nil {
		return err
	}
	if defects.name != "" {
		a.log.Warn("DEFECT BUILD: injecting a fault (issue 19), never use this build for real", "defect", defects.name)
	}
	if err := a.applyStartDefects(); err != nil {
		return err
	}
	a.sweep()

	stop, err := a.start(ctx)
	if err != nil {
		return err
	}
	defer stop()
	go a.watchRoutes(ctx)
	a.lastLoop.Store(time.Now().UnixNano()) // /healthz counts from the start

	ticker := time.NewTicker(a.opts.Period)
	defer ticker.Stop()
	a.kick()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		case <-a.trigger:
		}
		switch err := a.Reconcile(ctx); {
		case errors.Is(err, errNotSynced):
			a.log.Warn("reconcile incomplete (retried)", "err", err)
		case err != nil:
			a.log.Error("reconcile failed (retried)", "err", err)
		}
	}
}

// sweep removes what an earlier run killed mid-write left (see sweepTemps).
func (a *Agent) sweep() {
	removed, err := sweepTemps(a.opts.CNIBinDir, a.opts.CNIConfDir, a.installer.StateDir, a.installer.Names)
	if len(removed) > 0 {
		a.log.Info("removed temporary files an earlier run left", "files", removed)
	}
	if err != nil {
		a.log.Warn("cannot remove temporary files an earlier run left", "err", err)
	}
}

// start begins recording Events and watching Nodes; stop ends both.
func (a *Agent) start(ctx context.Context) (stop func(), err error) {
	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: a.opts.Client.CoreV1().Events("")})
	a.recorder = broadcaster.NewRecorder(scheme.Scheme, v1.EventSource{Component: "podnet-agent", Host: a.opts.NodeName})

	factory := informers.NewSharedInformerFactory(a.opts.Client, 0)
	inf := factory.Core().V1().Nodes()
	a.nodes, a.synced = inf.Lister(), inf.Informer().HasSynced
	if _, err := inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(any) { a.kick() },
		UpdateFunc: func(oldObj, newObj any) {
			o, okOld := oldObj.(*v1.Node)
			n, okNew := newObj.(*v1.Node)
			if !okOld || !okNew || nodeKey(o) != nodeKey(n) {
				a.kick()
			}
		},
		DeleteFunc: func(any) { a.kick() },
	}); err != nil {
		broadcaster.Shutdown()
		return nil, err
	}
	factory.Start(ctx.Done())
	go func() {
		// The first reconcile ran before the first list (not synced): the
		// next one must not wait a full period, nor for a Node change.
		if cache.WaitForCacheSync(ctx.Done(), a.synced) {
			a.kick()
		}
	}()

	return func() { factory.Shutdown(); broadcaster.Shutdown() }, nil
}

// nodeKey is what of a Node matters to the agent: a status heartbeat changes
// nothing of it and triggers no reconcile.
func nodeKey(n *v1.Node) string {
	var addrs []string
	for _, a := range n.Status.Addresses {
		if a.Type == v1.NodeInternalIP {
			addrs = append(addrs, a.Address)
		}
	}
	return fmt.Sprint(n.Spec.PodCIDR, n.Spec.PodCIDRs, addrs, n.Annotations[MTUAnnotation], n.DeletionTimestamp != nil)
}

// routeSubscribe is netlink.RouteSubscribeWithOptions; tests replace it.
type routeSubscribe func(chan<- netlink.RouteUpdate, <-chan struct{}, netlink.RouteSubscribeOptions) error

// routeEventsBuffer is the route subscription's socket receive buffer: a
// burst of route changes (a big cluster's routes set at once) overruns the
// default one, and an overrun ends the subscription.
const routeEventsBuffer = 1 << 20

// watchRoutes kicks a reconcile whenever a route with the agent's protocol
// changes (someone deleted or replaced one). When the subscription fails (a
// receive error, ENOBUFS after an overrun) it subscribes again after a short
// backoff and kicks a reconcile for the changes missed meanwhile.
func (a *Agent) watchRoutes(ctx context.Context) {
	subscribe := a.subscribe
	if subscribe == nil {
		subscribe = netlink.RouteSubscribeWithOptions
	}
	initial := wait.Backoff{Duration: 100 * time.Millisecond, Factor: 2, Jitter: 0.1, Steps: 10, Cap: 30 * time.Second}
	backoff := initial
	force := true // set the buffer beyond rmem_max: the agent is privileged
	for subscribed := false; ctx.Err() == nil; {
		updates := make(chan netlink.RouteUpdate, 64)
		done := make(chan struct{})
		opts := netlink.RouteSubscribeOptions{
			Namespace:              a.opts.NetNS,
			ReceiveBufferSize:      routeEventsBuffer,
			ReceiveBufferForceSize: force,
			ErrorCallback: func(err error) {
				if ctx.Err() == nil { // else: our own close at shutdown
					a.log.Warn("route subscription failed; subscribing again", "err", err)
				}
			},
		}
		start := time.Now()
		err := subscribe(updates, done, opts)
		if errors.Is(err, unix.EPERM) && opts.ReceiveBufferForceSize {
			// Not allowed beyond rmem_max (not privileged): the default size.
			a.log.Warn("cannot force the route subscription's receive buffer; using rmem_max", "err", err)
			force, opts.ReceiveBufferForceSize = false, false
			err = subscribe(updates, done, opts)
		}
		if err != nil {
			a.log.Warn("cannot subscribe to route changes; retrying, the period still reconciles", "err", err)
		} else {
			if subscribed {
				a.kick() // route changes while unsubscribed went unseen
			}
			subscribed = true
		loop:
			for {
				select {
				case <-ctx.Done():
					break loop
				case u, ok := <-updates:
					if !ok {
						break loop
					}
					if int(u.Protocol) == RouteProtocol {
						a.kick()
					}
				}
			}
		}
		close(done)
		if err == nil {
			// The receiver may be blocked sending an update: let it end.
			go func() {
				for range updates {
					// dropped: this subscription is over
				}
			}()
		}
		if time.Since(start) > initial.Cap {
			backoff = initial // it worked for a while: not a failure loop
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff.Step()):
		}
	}
}

// Reconcile brings the node to the desired state once. Every step runs even
// when an earlier one failed (a route can be fixed while a binary cannot);
// the agent is ready, and writes the ready stamp, only when all succeeded.
func (a *Agent) Reconcile(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	start := time.Now()
	defer func() {
		a.metrics.duration.Observe(time.Since(start).Seconds())
		a.metrics.reconcileTotal.Inc()
		a.lastLoop.Store(time.Now().UnixNano())
	}()
	var errs []error
	fail := func(step string, err error) {
		a.metrics.errors.WithLabelValues(step).Inc()
		errs = append(errs, fmt.Errorf("%s: %w", step, err))
	}

	if a.step(stepSysctls) {
		if err := ensureSysctls(a.opts.SysctlRoot, Sysctls(a.cfg)); err != nil {
			fail(stepSysctls, err)
		}
		if slices.Contains(a.cfg.families(), true) {
			a.warnRA()
		}
	}
	if a.step(stepBinaries) {
		wrote, err := a.installer.Reconcile()
		if len(wrote) > 0 {
			a.log.Info("installed CNI binaries", "binaries", wrote, "dir", a.opts.CNIBinDir)
		}
		if err != nil {
			fail(stepBinaries, err)
		}
	}

	// The informer's cache is the truth only once synced: before that an
	// empty list would delete every route.
	if !a.synced() {
		a.ready.Store(false)
		a.metrics.errors.WithLabelValues(stepSync).Inc()
		errs = append(errs, errNotSynced)
		return errors.Join(errs...)
	}
	self, err := a.nodes.Get(a.opts.NodeName)
	if apierrors.IsNotFound(err) {
		err = fmt.Errorf("node %q not found (is --node-name right?)", a.opts.NodeName)
	}
	var subnets map[bool]netip.Prefix
	if err != nil {
		fail(stepConf, err)
	} else {
		if subnets, err = a.reconcileConf(self); err != nil {
			fail(stepConf, err)
		}
	}
	if a.step(stepRoutes) {
		if err := a.reconcileRoutes(); err != nil {
			fail(stepRoutes, err)
		}
	}
	if a.step(stepRules) && subnets != nil {
		if err := a.reconcileRules(subnets); err != nil {
			fail(stepRules, err)
		}
	}
	if a.step(stepStore) && subnets != nil {
		if err := a.storeMetrics(subnets); err != nil {
			fail(stepStore, err)
		}
	}
	if len(errs) == 0 {
		if err := a.writeReadyStamp(); err != nil {
			fail(stepReady, err)
		}
	}
	if len(errs) > 0 {
		a.ready.Store(false)
		return errors.Join(errs...)
	}
	if !a.ready.Swap(true) {
		a.log.Info("node ready: binaries, conf, routes and rules in place", "took", time.Since(start).Round(time.Millisecond))
	}
	a.metrics.lastSuccess.SetToCurrentTime()
	return nil
}

// warnRA warns, once per interface, about an IPv6 default route from router
// advertisements that forwarding=1 lets expire (see raAtRisk).
func (a *Agent) warnRA() {
	ifs, err := a.routes.raAtRisk(a.opts.SysctlRoot)
	if err != nil {
		a.log.Debug("cannot check the IPv6 RA default routes", "err", err)
		return
	}
	for _, name := range ifs {
		if a.raWarned[name] {
			continue
		}
		if a.raWarned == nil {
			a.raWarned = map[string]bool{}
		}
		a.raWarned[name] = true
		a.log.Warn("interface "+name+" holds an IPv6 default route learnt from router advertisements and has accept_ra=1: "+
			"with net.ipv6.conf.all.forwarding=1 the kernel ignores its RAs and the route expires; set net.ipv6.conf."+name+".accept_ra=2 on the node",
			"interface", name)
	}
}

// reconcileConf writes the node's conflist and returns its subnets. A node
// without a usable podCIDR gets no conf (an existing one stays: podnet keeps
// serving the pods it has), an Event and a log line naming the fix.
func (a *Agent) reconcileConf(self *v1.Node) (map[bool]netip.Prefix, error) {
	subnets, err := NodeSubnets(a.cfg, self)
	var data []byte
	if err == nil {
		data, err = RenderConflist(a.cfg, self)
	}
	if err != nil {
		a.reportProblem(self, err)
		return nil, err
	}
	a.reportProblem(self, nil)
	if !a.step(stepConf) {
		return subnets, nil
	}
	if err := os.MkdirAll(a.opts.CNIConfDir, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(a.opts.CNIConfDir, ConflistName)
	changed, err := WriteFileAtomic(path, data, 0o644)
	if err != nil {
		return nil, fmt.Errorf("writing %s: %w", path, err)
	}
	if changed {
		a.log.Info("wrote CNI conf", "path", path, "subnets", fmt.Sprint(subnets))
	}
	return subnets, nil
}

// reportProblem records a node problem once (an Event and a log line) until
// it changes or goes away.
func (a *Agent) reportProblem(node *v1.Node, err error) {
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	if msg == a.problem {
		return
	}
	a.problem = msg
	if err == nil {
		a.log.Info("node problem resolved", "node", node.Name)
		return
	}
	reason := "PodnetConfInvalid"
	if errors.Is(err, ErrNoPodCIDR) {
		reason = "PodnetNoPodCIDR"
	}
	a.log.Error("no CNI conf for this node", "reason", reason, "err", err)
	if a.recorder != nil {
		a.recorder.Event(node, v1.EventTypeWarning, reason, msg)
	}
}

func (a *Agent) reconcileRoutes() error {
	nodes, err := a.nodes.List(labels.Everything())
	if err != nil {
		return err
	}
	desired := DesiredRoutes(a.cfg, a.opts.NodeName, nodes)
	current, err := a.routes.list()
	if err != nil {
		return err
	}
	plan := DiffRoutes(desired, current)
	applyErr := a.routes.apply(plan)
	for _, r := range plan.Replace {
		a.log.Info("route set", "route", r.String())
	}
	for _, r := range plan.Delete {
		a.log.Info("route deleted", "route", r.String())
	}
	if !plan.Empty() {
		if current, err = a.routes.list(); err != nil {
			return errors.Join(applyErr, err)
		}
	}
	v4, v6 := countOurs(current)
	a.metrics.routesOwned.WithLabelValues("IPv4").Set(float64(v4))
	a.metrics.routesOwned.WithLabelValues("IPv6").Set(float64(v6))
	return applyErr
}

func (a *Agent) reconcileRules(subnets map[bool]netip.Prefix) error {
	plan, err := a.tables.reconcile(a.cfg.Name, a.cfg.families(), DesiredRules(a.cfg, subnets))
	for _, r := range plan.Add {
		a.log.Info("iptables rule added", "cmd", r.Command(), "rule", r.String())
	}
	for _, r := range plan.Delete {
		a.log.Info("iptables rule deleted", "cmd", r.Command(), "rule", r.String())
	}
	return err
}

// storeMetrics reads podnet's store like STATUS does: without its lock, so
// a scan never holds up an ADD.
func (a *Agent) storeMetrics(subnets map[bool]netip.Prefix) error {
	var fams []bool
	var pools []ipam.Pool
	for _, ipv6 := range a.cfg.families() {
		sub, ok := subnets[ipv6]
		if !ok {
			continue
		}
		p, err := ipam.NewPool(prefixToIPNet(sub))
		if err != nil {
			return err
		}
		fams, pools = append(fams, ipv6), append(pools, p)
	}
	held, err := ipam.Inspect(a.cfg.DataDir, a.cfg.Name, pools)
	if errors.Is(err, fs.ErrNotExist) {
		held, err = make([]uint64, len(pools)), nil // no pod yet
	}
	if err != nil {
		return err
	}
	for i, ipv6 := range fams {
		used := min(held[i], pools[i].Size())
		a.metrics.addresses.WithLabelValues(familyName(ipv6), "in_use").Set(float64(used))
		a.metrics.addresses.WithLabelValues(familyName(ipv6), "free").Set(float64(pools[i].Size() - used))
	}
	return nil
}

// writeReadyStamp tells podnet's STATUS the node is ready (once; uninstall
// removes it), and records the defect of a podnet_defects build for the
// plugin.
func (a *Agent) writeReadyStamp() error {
	dir := rules.AgentDir(a.cfg.DataDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	path := filepath.Join(dir, rules.ReadyFile)
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	_, err := WriteFileAtomic(path, fmt.Appendf(nil, "podnet-agent %s %s\n", Version, Commit), 0o644)
	return err
}

// applyStartDefects carries out the start-time faults of a defects build
// and tells the plugin which one is on.
func (a *Agent) applyStartDefects() error {
	if !defects.build {
		return nil // a release build never reads or writes DefectFile
	}
	dir := rules.AgentDir(a.cfg.DataDir)
	path := filepath.Join(dir, rules.DefectFile)
	if defects.name == "" {
		// A defect of an earlier run must not outlive it.
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if _, err := WriteFileAtomic(path, []byte(defects.name+"\n"), 0o644); err != nil {
		return err
	}
	if defects.wipeStore {
		return os.RemoveAll(filepath.Join(a.cfg.DataDir, a.cfg.Name))
	}
	return nil
}
