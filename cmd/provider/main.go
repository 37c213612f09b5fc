// Command provider runs provider-mcp: the ExternalAuthConfig managed resource
// and its provider configs.
package main

import (
	"os"
	"runtime/debug"
	"time"

	"github.com/alecthomas/kong"
	"go.uber.org/zap/zapcore"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/crossplane/crossplane-runtime/v2/pkg/controller"
	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/feature"
	"github.com/crossplane/crossplane-runtime/v2/pkg/gate"
	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"
	"github.com/crossplane/crossplane-runtime/v2/pkg/ratelimiter"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/customresourcesgate"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	"github.com/crossplane/crossplane-runtime/v2/pkg/statemetrics"

	"github.com/crossmcp/provider-mcp/apis"
	mcpcontroller "github.com/crossmcp/provider-mcp/internal/controller"
	"github.com/crossmcp/provider-mcp/internal/controller/externalauthconfig"
	"github.com/crossmcp/provider-mcp/internal/hashkey"
)

// cli holds the provider's flags; the names are the ones every Crossplane
// provider uses.
type cli struct {
	Debug                     bool          `short:"d" env:"DEBUG" help:"Run with debug logging."`
	SyncInterval              time.Duration `name:"sync" short:"s" default:"1h" env:"SYNC_INTERVAL" help:"How often all resources are re-read from the API server."`
	PollInterval              time.Duration `name:"poll" default:"1m" env:"POLL_INTERVAL" help:"How often each managed resource is observed."`
	PollJitterPercentage      uint          `default:"10" env:"POLL_JITTER_PERCENTAGE" help:"Spread each poll by up to this percentage of the poll interval either way, so configs created together are not all observed at once."`
	PollStateMetricInterval   time.Duration `name:"poll-state-metric" default:"5s" env:"POLL_STATE_METRIC_INTERVAL" help:"How often the crossplane_managed_resource_{exists,ready,synced} metrics are recorded."`
	MaxReconcileRate          int           `default:"100" env:"MAX_RECONCILE_RATE" help:"The global maximum rate per second at which resources may be checked for drift; also sets the concurrent reconciles and the API client's rate limit (5 QPS per unit). Requests to authorization servers are bounded separately: 10 in flight, 3 per namespace, 2 per host."`
	LeaderElection            bool          `env:"LEADER_ELECTION" help:"Use leader election for the controller manager."`
	EnableManagementPolicies  bool          `default:"true" env:"ENABLE_MANAGEMENT_POLICIES" negatable:"" help:"Honour spec.managementPolicies of managed resources."`
	VerifyInterval            time.Duration `default:"10m" env:"VERIFY_INTERVAL" help:"How often an unchanged ExternalAuthConfig is re-verified against its authorization server."`
	VerifyRetryInterval       time.Duration `default:"30s" env:"VERIFY_RETRY_INTERVAL" help:"How soon a failed verification may be retried."`
	MetricsBindAddress        string        `default:":8080" env:"METRICS_BIND_ADDRESS" help:"Address of the metrics endpoint; 0 disables it."`
	HealthProbeBindAddress    string        `default:":8081" env:"HEALTH_PROBE_BIND_ADDRESS" help:"Address of the health endpoints."`
	Namespace                 string        `default:"crossplane-system" env:"POD_NAMESPACE" help:"The provider's namespace, where its config-hash key Secret lives."`
	NamespacedPrivateNetworks bool          `env:"NAMESPACED_PRIVATE_NETWORKS" help:"Let namespaced ProviderConfigs allow private networks (allowPrivateNetworks). Off: only ClusterProviderConfigs may, so no tenant can make the provider probe in-cluster, loopback or cloud-metadata addresses."`
	HashKeySecret             string        `default:"provider-mcp-hash-key" env:"HASH_KEY_SECRET" help:"Secret holding the key of config hashes; made with a random key when missing. Delete it to rotate the key: every config hash changes once, and every workload rolls once."`
}

// gcPercent is the provider's GC target unless GOGC says otherwise. Its live
// heap is small, mostly informer caches; at Go's default of 100 the heap
// grows to twice that between collections. 50 keeps the peak resident set at
// 1000 configs about 10 MiB lower, at no cost make bench can measure.
const gcPercent = 50

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	var c cli
	kctx := kong.Parse(&c, kong.Name("provider"), kong.Description("Crossplane provider for MCP server external authentication."))
	kctx.FatalIfErrorf(c.run())
}

func (c *cli) run() error {
	if c.PollJitterPercentage > 100 {
		return errors.Errorf("--poll-jitter-percentage is %d, want 0 to 100", c.PollJitterPercentage)
	}
	zl := zap.New(zap.UseDevMode(c.Debug), zap.Level(levelFor(c.Debug)))
	log := logging.NewLogrLogger(zl.WithName("provider-mcp"))
	ctrl.SetLogger(zl)

	cfg, err := ctrl.GetConfig()
	if err != nil {
		return errors.Wrap(err, "cannot get API server config")
	}

	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, apiextensionsv1.AddToScheme, apis.AddToScheme} {
		if err := add(s); err != nil {
			return errors.Wrap(err, "cannot build scheme")
		}
	}

	mgr, err := ctrl.NewManager(ratelimiter.LimitRESTConfig(cfg, c.MaxReconcileRate), ctrl.Options{
		Scheme:                     s,
		Cache:                      mcpcontroller.CacheOptions(c.SyncInterval),
		Client:                     mcpcontroller.ClientOptions(),
		LeaderElection:             c.LeaderElection,
		LeaderElectionID:           "crossplane-leader-election-provider-mcp",
		LeaderElectionResourceLock: "leases",
		LeaseDuration:              ptr(60 * time.Second),
		RenewDeadline:              ptr(50 * time.Second),
		Metrics:                    metricsserver.Options{BindAddress: c.MetricsBindAddress},
		HealthProbeBindAddress:     c.HealthProbeBindAddress,
	})
	if err != nil {
		return errors.Wrap(err, "cannot create controller manager")
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return errors.Wrap(err, "cannot add health check")
	}
	if err := mgr.AddReadyzCheck("ping", healthz.Ping); err != nil {
		return errors.Wrap(err, "cannot add ready check")
	}

	mm := managed.NewMRMetricRecorder()
	sm := statemetrics.NewMRStateMetrics()
	metrics.Registry.MustRegister(mm, sm)
	o := controller.Options{
		Logger:                  log,
		MaxConcurrentReconciles: c.MaxReconcileRate,
		PollInterval:            c.PollInterval,
		GlobalRateLimiter:       ratelimiter.NewGlobal(c.MaxReconcileRate),
		Features:                &feature.Flags{},
		MetricOptions:           &controller.MetricOptions{MRMetrics: mm, MRStateMetrics: sm, PollStateMetricInterval: c.PollStateMetricInterval},
		Gate:                    new(gate.Gate[schema.GroupVersionKind]),
	}
	if c.EnableManagementPolicies {
		o.Features.Enable(feature.EnableBetaManagementPolicies)
	}

	// Controllers start when their CRDs are established: with safe-start,
	// Crossplane installs managed-resource CRDs only once they are activated.
	if err := customresourcesgate.Setup(mgr, o); err != nil {
		return errors.Wrap(err, "cannot set up the CRD gate")
	}
	ctx := ctrl.SetupSignalHandler()
	// Read before the manager starts, with a client of its own: the
	// manager's cached client serves no reads yet.
	direct, err := client.New(cfg, client.Options{Scheme: s})
	if err != nil {
		return errors.Wrap(err, "cannot create API client")
	}
	key, err := hashkey.Ensure(ctx, direct, c.Namespace, c.HashKeySecret)
	if err != nil {
		return err
	}
	setupErr := make(chan error, 2)
	mcpcontroller.SetupGated(mgr, o, externalauthconfig.Options{
		VerifyInterval: c.VerifyInterval,
		RetryInterval:  c.VerifyRetryInterval,
		HashKey:        key,

		NamespacedPrivateNetworks: c.NamespacedPrivateNetworks,
		PollJitter:                c.PollInterval * time.Duration(c.PollJitterPercentage) / 100,
	}, func(err error) { setupErr <- err })

	go func() {
		if err := <-setupErr; err != nil {
			log.Info("Cannot set up controllers", "error", err)
			os.Exit(1)
		}
	}()
	log.Info("Starting provider-mcp", "poll", c.PollInterval, "sync", c.SyncInterval, "max-reconcile-rate", c.MaxReconcileRate, "management-policies", c.EnableManagementPolicies)
	return errors.Wrap(mgr.Start(ctx), "cannot start controller manager")
}

func levelFor(debug bool) zapcore.Level {
	if debug {
		return zapcore.DebugLevel
	}
	return zapcore.InfoLevel
}

func ptr[T any](v T) *T { return &v }
