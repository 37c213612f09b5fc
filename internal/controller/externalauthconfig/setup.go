package externalauthconfig

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/crossplane/crossplane-runtime/v2/pkg/controller"
	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/event"
	"github.com/crossplane/crossplane-runtime/v2/pkg/feature"
	"github.com/crossplane/crossplane-runtime/v2/pkg/ratelimiter"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"
	"github.com/crossplane/crossplane-runtime/v2/pkg/statemetrics"
	protectionv1beta1 "github.com/crossplane/crossplane/apis/v2/protection/v1beta1"

	"github.com/crossmcp/provider-mcp/apis/auth/v1alpha1"
	mcpv1alpha1 "github.com/crossmcp/provider-mcp/apis/v1alpha1"
	"github.com/crossmcp/provider-mcp/internal/controller/quiet"
	"github.com/crossmcp/provider-mcp/internal/controller/valuecache"
	"github.com/crossmcp/provider-mcp/internal/hashkey"
)

// Options tune the controller beyond crossplane-runtime's options.
type Options struct {
	// VerifyInterval is how often an unchanged config is re-verified.
	VerifyInterval time.Duration
	// RetryInterval is how soon a failed verification may be retried.
	RetryInterval time.Duration
	// Checker talks to authorization servers; nil uses the real one.
	Checker CheckerFactory
	// HashKey keys the secret values in config hashes (see
	// internal/hashkey). Required.
	HashKey []byte
	// NamespacedPrivateNetworks lets namespaced ProviderConfigs allow
	// private networks; otherwise only ClusterProviderConfigs may.
	NamespacedPrivateNetworks bool
	// PollJitter spreads polls by up to this much either way, so configs
	// created together are not all observed in the same second.
	PollJitter time.Duration
}

// Setup adds a controller that reconciles ExternalAuthConfigs.
func Setup(mgr ctrl.Manager, o controller.Options, eo Options) error {
	name := managed.ControllerName(v1alpha1.ExternalAuthConfigGroupKind.String())
	if err := eo.defaults(); err != nil {
		return err
	}
	if err := indexes(context.Background(), mgr.GetFieldIndexer()); err != nil {
		return err
	}

	recorder := event.NewAPIRecorder(mgr.GetEventRecorderFor(name), o.EventFilterFunctions...) //nolint:staticcheck // crossplane-runtime's recorder wraps the old API.
	policies := o.Features.Enabled(feature.EnableBetaManagementPolicies)
	// A provider without the right to watch Usages must still work; only
	// the users in status need it.
	canWatch, err := mayWatchUsages(context.Background(), mgr.GetClient())
	if err != nil {
		return err
	}
	// Secrets and ConfigMaps are read through a cache of just the ones
	// read, checked against a watch of everyone's metadata.
	kube := valuecache.New(mgr.GetClient(), mgr.GetCache())
	c := &connector{
		kube:        kube,
		verifier:    newVerifier(eo.Checker, eo.VerifyInterval, eo.RetryInterval),
		recorder:    recorder,
		policies:    policies,
		reportUsers: canWatch,
		hashKey:     eo.HashKey,

		namespacedPrivate: eo.NamespacedPrivateNetworks,
	}

	opts, err := reconcilerOptions(mgr, o, eo, c, name)
	if err != nil {
		return err
	}
	r := managed.NewReconciler(quiet.Manager{Manager: valuecache.Manager{Manager: mgr, Client: kube}}, resource.ManagedKind(v1alpha1.ExternalAuthConfigGroupVersionKind), opts...)
	return watch(mgr, o, c, name).Complete(ratelimiter.NewReconciler(name, retryConflicts{Reconciler: r}, o.GlobalRateLimiter))
}

// defaults checks the options and fills in what is unset.
func (eo *Options) defaults() error {
	if len(eo.HashKey) < hashkey.MinSize {
		return errors.Errorf("the config-hash key has %d bytes, want at least %d", len(eo.HashKey), hashkey.MinSize)
	}
	if eo.Checker == nil {
		eo.Checker = NewOAuthChecker
	}
	if eo.VerifyInterval <= 0 {
		eo.VerifyInterval = 10 * time.Minute
	}
	if eo.RetryInterval <= 0 {
		eo.RetryInterval = 30 * time.Second
	}
	return nil
}

// reconcilerOptions are the managed reconciler's options; the state
// metrics recorder, if any, is added to the manager.
func reconcilerOptions(mgr ctrl.Manager, o controller.Options, eo Options, c *connector, name string) ([]managed.ReconcilerOption, error) {
	opts := []managed.ReconcilerOption{
		managed.WithTypedExternalConnector[*v1alpha1.ExternalAuthConfig](c),
		managed.WithLogger(o.Logger.WithValues("controller", name)),
		managed.WithRecorder(c.recorder),
		managed.WithPollInterval(o.PollInterval),
		managed.WithTimeout(2 * time.Minute),
		// A config has no external resource, and what it creates (the
		// connection secret) is owned by it and garbage collected. It needs neither the external-name annotation
		// nor a finalizer; skipping both saves two writes and a second
		// reconcile per new config. A finalizer an earlier version added is
		// still removed, so such configs can be deleted.
		managed.WithInitializers(),
		managed.WithFinalizer(resource.FinalizerFns{
			AddFinalizerFn:    func(context.Context, resource.Object) error { return nil },
			RemoveFinalizerFn: resource.NewAPIFinalizer(mgr.GetClient(), managed.FinalizerName).RemoveFinalizer,
		}),
	}
	if c.policies {
		opts = append(opts, managed.WithManagementPolicies())
	}
	if eo.PollJitter > 0 {
		opts = append(opts, managed.WithPollJitterHook(eo.PollJitter))
	}
	if mo := o.MetricOptions; mo != nil {
		if mo.MRMetrics != nil {
			opts = append(opts, managed.WithMetricRecorder(mo.MRMetrics))
		}
		// crossplane_managed_resource_{exists,ready,synced}.
		if mo.MRStateMetrics != nil && mo.PollStateMetricInterval > 0 {
			r := statemetrics.NewMRStateRecorder(mgr.GetClient(), o.Logger, mo.MRStateMetrics, &v1alpha1.ExternalAuthConfigList{}, mo.PollStateMetricInterval)
			if err := mgr.Add(r); err != nil {
				return nil, errors.Wrap(err, "cannot add the managed resource state recorder")
			}
		}
	}
	return opts, nil
}

// watch returns the controller's builder with what it watches.
func watch(mgr ctrl.Manager, o controller.Options, c *connector, name string) *builder.TypedBuilder[reconcile.Request] {
	b := ctrl.NewControllerManagedBy(mgr).
		Named(name).
		WithOptions(o.ForControllerRuntime()).
		For(&v1alpha1.ExternalAuthConfig{}, builder.WithPredicates(resource.DesiredStateChanged())).
		// A rotated secret reaches the connection secret within seconds, not
		// at the next poll; so does a provider config's new CA bundle.
		WatchesMetadata(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(configsForSecret(mgr.GetClient()))).
		// Provider config settings apply within seconds too. Only their
		// spec matters: their controller writes status.users whenever a
		// config comes or goes, which must not reconcile every user.
		Watches(&mcpv1alpha1.ProviderConfig{}, handler.EnqueueRequestsFromMapFunc(configsForProviderConfig(mgr.GetClient())), builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&mcpv1alpha1.ClusterProviderConfig{}, handler.EnqueueRequestsFromMapFunc(configsForClusterProviderConfig(mgr.GetClient())), builder.WithPredicates(predicate.GenerationChangedPredicate{}))
	if c.reportUsers {
		// Users in status follow the Usages that protect the config.
		b = b.Watches(&protectionv1beta1.Usage{}, handler.EnqueueRequestsFromMapFunc(configsForUsage))
	} else {
		o.Logger.Info("Cannot list and watch Crossplane Usages: status.atProvider.usedBy stays empty. Grant it with cluster/rbac/provider-mcp.yaml.")
	}
	return b
}
