package agent

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Reconcile steps, the "step" label of podnet_agent_reconcile_errors_total.
const (
	stepSysctls  = "sysctls"
	stepBinaries = "binaries"
	stepConf     = "conf"
	stepRoutes   = "routes"
	stepRules    = "rules"
	stepStore    = "store"
	stepReady    = "ready"
	// stepSync counts the reconciles cut short because the Node informer
	// had not synced (the API server unreachable since start).
	stepSync = "sync"
)

var steps = []string{stepSysctls, stepBinaries, stepSync, stepConf, stepRoutes, stepRules, stepStore, stepReady}

// metrics are the agent's Prometheus metrics, in a registry of their own
// (with the Go and process collectors) so tests can make several agents.
type metrics struct {
	registry       *prometheus.Registry
	routesOwned    *prometheus.GaugeVec
	duration       prometheus.Histogram
	errors         *prometheus.CounterVec
	lastSuccess    prometheus.Gauge
	addresses      *prometheus.GaugeVec
	reconcileTotal prometheus.Counter
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		routesOwned: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "podnet_agent_routes_owned", Help: "Routes with podnet-agent's route protocol in the main table, per family.",
		}, []string{"family"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "podnet_agent_reconcile_duration_seconds", Help: "Duration of a full reconcile of the node.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "podnet_agent_reconcile_errors_total", Help: "Reconcile steps that failed, per step.",
		}, []string{"step"}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "podnet_agent_last_success_timestamp_seconds", Help: "Unix time of the last reconcile in which every step succeeded.",
		}),
		addresses: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "podnet_agent_addresses", Help: "Pod addresses of this node's subnets in podnet's store, per family, in use or free.",
		}, []string{"family", "state"}),
		reconcileTotal: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "podnet_agent_reconciles_total", Help: "Reconciles run (successful or not).",
		}),
	}
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "podnet_agent_build_info", Help: "The agent's version and commit (value 1).",
	}, []string{"version", "commit"})
	build.WithLabelValues(Version, Commit).Set(1)
	for _, s := range steps {
		m.errors.WithLabelValues(s) // every step shows, at 0
	}
	m.registry.MustRegister(build, m.routesOwned, m.duration, m.errors, m.lastSuccess, m.addresses, m.reconcileTotal,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
