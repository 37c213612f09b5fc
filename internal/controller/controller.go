// Package controller sets up every controller of provider-mcp.
package controller

import (
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/controller"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/customresourcesgate"
	protectionv1beta1 "github.com/crossplane/crossplane/apis/v2/protection/v1beta1"

	"github.com/crossmcp/provider-mcp/apis/auth/v1alpha1"
	mcpv1alpha1 "github.com/crossmcp/provider-mcp/apis/v1alpha1"
	"github.com/crossmcp/provider-mcp/internal/controller/config"
	"github.com/crossmcp/provider-mcp/internal/controller/externalauthconfig"
	"github.com/crossmcp/provider-mcp/internal/controller/valuecache"
)

// CacheOptions are the manager's cache options. managedFields are never read
// here and are a large part of every cached object; the CRD gate needs only
// names, versions and conditions of the cluster's CRDs, not their schemas;
// of Secrets and ConfigMaps only names and versions are watched (package
// valuecache). All keep memory flat however many objects the cluster holds.
func CacheOptions(sync time.Duration) cache.Options {
	o := cache.Options{
		SyncPeriod:       &sync,
		DefaultTransform: cache.TransformStripManagedFields(),
		ByObject: map[client.Object]cache.ByObject{
			&apiextensionsv1.CustomResourceDefinition{}: {Transform: customresourcesgate.TransformStripCRDSchema},
		},
	}
	for _, obj := range valuecache.Objects() {
		o.ByObject[obj] = cache.ByObject{Transform: valuecache.Transform()}
	}
	return o
}

// ClientOptions are the manager's client options: Secrets and ConfigMaps
// are read through package valuecache, never from an informer holding every
// one in the cluster.
func ClientOptions() client.Options {
	return client.Options{Cache: &client.CacheOptions{DisableFor: valuecache.Objects()}}
}

// Setup adds every controller to the manager. The ExternalAuthConfig
// controller goes first: it registers the index the provider config
// controllers count users by.
func Setup(mgr ctrl.Manager, o controller.Options, eo externalauthconfig.Options) error {
	if err := externalauthconfig.Setup(mgr, o, eo); err != nil {
		return err
	}
	return config.Setup(mgr, o, externalauthconfig.ProviderConfigUsers{Reader: mgr.GetClient()})
}

// SetupGated registers the controllers to start once their CRDs exist: with
// safe-start, Crossplane installs managed-resource CRDs only when they are
// activated. errs receives setup failures, which happen after SetupGated
// returns.
func SetupGated(mgr ctrl.Manager, o controller.Options, eo externalauthconfig.Options, errs func(error)) {
	// One gate: the provider config controllers count ExternalAuthConfigs.
	o.Gate.Register(func() {
		if err := Setup(mgr, o, eo); err != nil {
			errs(err)
		}
	}, v1alpha1.ExternalAuthConfigGroupVersionKind, mcpv1alpha1.ProviderConfigGroupVersionKind, mcpv1alpha1.ClusterProviderConfigGroupVersionKind,
		protectionv1beta1.UsageGroupVersionKind)
}
