package externalauthconfig

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Verification metrics, on the provider's metrics endpoint. A verification
// answered from memory (see verifier) is not counted: these count the
// checks that went to an authorization server.
var (
	verificationsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "provider_mcp_verifications_total",
		Help: "Verifications of authorization servers by outcome (Succeeded, Failed, Skipped) and reason, e.g. CredentialsRejected.",
	}, []string{"outcome", "reason"})
	verificationSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "provider_mcp_verification_duration_seconds",
		Help: "How long verifications of authorization servers took, waiting for request slots included, by outcome.",
		// 10 ms to about 40 s: httpTimeout is at most 30 s.
		Buckets: prometheus.ExponentialBuckets(0.01, 2, 13),
	}, []string{"outcome"})
)

func init() {
	metrics.Registry.MustRegister(verificationsTotal, verificationSeconds)
}

// observeVerification records a verification that went to an authorization
// server.
func observeVerification(v verification, took time.Duration) {
	verificationsTotal.WithLabelValues(string(v.outcome), string(v.reason)).Inc()
	verificationSeconds.WithLabelValues(string(v.outcome)).Observe(took.Seconds())
}
