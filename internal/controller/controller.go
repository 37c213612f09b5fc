// Package controller sets up every controller of provider-mcp.
package controller

import (
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/crossplane/crossplane-runtime/v2/pkg/controller"
	protectionv1beta1 "github.com/crossplane/crossplane/apis/v2/protection/v1beta1"

	"github.com/crossmcp/provider-mcp/apis/auth/v1alpha1"
	mcpv1alpha1 "github.com/crossmcp/provider-mcp/apis/v1alpha1"
	"github.com/crossmcp/provider-mcp/internal/controller/config"
	"github.com/crossmcp/provider-mcp/internal/controller/externalauthconfig"
)

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
