package reconciler

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

const namespace = "glint_github_app"

// metrics are the reconciler's Prometheus metrics.
type metrics struct {
	runs             *prometheus.CounterVec
	duration         prometheus.Histogram
	lastRun          prometheus.Gauge
	lastSuccess      prometheus.Gauge
	changes          *prometheus.CounterVec
	entities         *prometheus.GaugeVec
	conflicts        prometheus.Gauge
	invalid          prometheus.Gauge
	deletionsBlocked prometheus.Counter
	repositories     *prometheus.GaugeVec
	writeErrors      prometheus.Counter
	rateRemaining    prometheus.Gauge
	rateCost         prometheus.Gauge
}

// newMetrics registers the reconciler's metrics on reg.
func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	m := &metrics{
		runs: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "runs_total",
			Help: "Reconcile passes, by result (success or failure).",
		}, []string{"result"}),
		duration: f.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Name: "run_duration_seconds",
			Help:    "Duration of reconcile passes.",
			Buckets: prometheus.ExponentialBuckets(0.5, 2, 12), // 0.5s to about 17m
		}),
		lastRun: f.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "last_run_timestamp_seconds",
			Help: "When the last reconcile pass ended, in Unix seconds.",
		}),
		lastSuccess: f.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "last_success_timestamp_seconds",
			Help: "When the last successful reconcile pass ended, in Unix seconds.",
		}),
		changes: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "changes_total",
			Help: "Entity writes that succeeded, by action (create, update, delete).",
		}, []string{"action"}),
		entities: f.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "entities",
			Help: "Entities in the last pass: declared in glint.yml files (desired) or owned in Glint (owned).",
		}, []string{"side"}),
		conflicts: f.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "conflicts",
			Help: "Declarations left alone in the last pass because another writer or declaration holds the identifier.",
		}),
		invalid: f.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "invalid_entities",
			Help: "Declarations not sent in the last pass because Glint would refuse them.",
		}),
		deletionsBlocked: f.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "deletions_blocked_total",
			Help: "Passes whose deletions exceeded the deletion threshold, so nothing was deleted.",
		}),
		repositories: f.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "repositories",
			Help: "Repositories in the last pass, by state: read in full, failed to read, or with an invalid spec file or entity.",
		}, []string{"state"}),
		writeErrors: f.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "entity_write_errors_total",
			Help: "Entity creates, updates and deletes that failed.",
		}),
		rateRemaining: f.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "graphql_rate_limit_remaining",
			Help: "GitHub GraphQL rate limit points remaining, as last seen.",
		}),
		rateCost: f.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "graphql_rate_limit_cost",
			Help: "Cost of the last GitHub GraphQL query.",
		}),
	}
	// Start every labelled series at zero, so that rates and alerts work
	// before the first event.
	for _, l := range []string{"success", "failure"} {
		m.runs.WithLabelValues(l)
	}
	for _, l := range []string{"create", "update", "delete"} {
		m.changes.WithLabelValues(l)
	}
	return m
}
