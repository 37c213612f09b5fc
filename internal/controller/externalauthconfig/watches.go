package externalauthconfig

import (
	"context"

	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"

	"github.com/crossmcp/provider-mcp/apis/auth/v1alpha1"
	mcpv1alpha1 "github.com/crossmcp/provider-mcp/apis/v1alpha1"
	"github.com/crossmcp/provider-mcp/internal/authconfig"
)

const (
	errIndexSecretRefs      = "cannot index ExternalAuthConfigs by referenced secret"
	errIndexProviderConfigs = "cannot index ExternalAuthConfigs by provider config"
	errIndexCASecrets       = "cannot index provider configs by CA bundle secret"
	errListForSecret        = "cannot list ExternalAuthConfigs referencing a secret"
	errListForCASecret      = "cannot list provider configs taking their CA bundle from a secret"
	errListForPC            = "cannot list ExternalAuthConfigs using a provider config"
)

// Field indexes, so that an event finds what it affects in the cache without
// a full list.
const (
	// secretRefIndex indexes ExternalAuthConfigs by the names of the
	// Secrets they reference, in their own namespace.
	secretRefIndex = "spec.forProvider.secretRefs"
	// providerConfigIndex indexes ExternalAuthConfigs by the kind and name
	// of their provider config; see providerConfigKey.
	providerConfigIndex = "spec.providerConfigRef"
	// caSecretIndex indexes ProviderConfigs by the name of their CA bundle
	// Secret, in their own namespace, and ClusterProviderConfigs by its
	// namespace and name.
	caSecretIndex = "spec.caBundle.secretRef"
)

// indexes registers the field indexes the watches' map functions list by.
func indexes(ctx context.Context, i client.FieldIndexer) error {
	if err := i.IndexField(ctx, &v1alpha1.ExternalAuthConfig{}, secretRefIndex, indexSecretRefs); err != nil {
		return errors.Wrap(err, errIndexSecretRefs)
	}
	if err := i.IndexField(ctx, &v1alpha1.ExternalAuthConfig{}, providerConfigIndex, indexProviderConfig); err != nil {
		return errors.Wrap(err, errIndexProviderConfigs)
	}
	if err := i.IndexField(ctx, &mcpv1alpha1.ProviderConfig{}, caSecretIndex, indexCASecret); err != nil {
		return errors.Wrap(err, errIndexCASecrets)
	}
	if err := i.IndexField(ctx, &mcpv1alpha1.ClusterProviderConfig{}, caSecretIndex, indexCASecret); err != nil {
		return errors.Wrap(err, errIndexCASecrets)
	}
	return nil
}

// indexSecretRefs returns the names of the Secrets a config references.
func indexSecretRefs(o client.Object) []string {
	mg, ok := o.(*v1alpha1.ExternalAuthConfig)
	if !ok {
		return nil
	}
	refs := authconfig.SecretRefs(mg.Spec.ForProvider)
	names := make([]string, 0, len(refs))
	for _, r := range refs {
		names = append(names, r.Name)
	}
	return names
}

// providerConfigKey is a provider config reference as indexed. A namespaced
// ProviderConfig is in the config's namespace, which the list selects.
func providerConfigKey(kind, name string) string {
	return kind + "/" + name
}

// ProviderConfigUsers counts configs by the provider config they reference,
// from the informer cache's index: the provider config controller's count.
type ProviderConfigUsers struct {
	Reader client.Reader
}

// Count returns how many configs reference the provider config of kind and
// name; namespace is a ProviderConfig's, whose users are in its namespace,
// and "" for a ClusterProviderConfig, whose users may be anywhere.
func (u ProviderConfigUsers) Count(ctx context.Context, kind, namespace, name string) (int64, error) {
	l := &v1alpha1.ExternalAuthConfigList{}
	// Only counted, never changed: no need to copy every config.
	opts := []client.ListOption{client.MatchingFields{providerConfigIndex: providerConfigKey(kind, name)}, client.UnsafeDisableDeepCopy}
	if namespace != "" {
		opts = append(opts, client.InNamespace(namespace))
	}
	if err := u.Reader.List(ctx, l, opts...); err != nil {
		return 0, errors.Wrap(err, errListForPC)
	}
	return int64(len(l.Items)), nil
}

// indexProviderConfig returns the provider config a config references.
func indexProviderConfig(o client.Object) []string {
	mg, ok := o.(*v1alpha1.ExternalAuthConfig)
	if !ok {
		return nil
	}
	ref := mg.GetProviderConfigReference()
	if ref == nil {
		return nil
	}
	return []string{providerConfigKey(ref.Kind, ref.Name)}
}

// indexCASecret returns the Secret a provider config takes its CA bundle
// from: its name for a ProviderConfig, whose Secret is in its own namespace;
// namespace/name for a ClusterProviderConfig.
func indexCASecret(o client.Object) []string {
	switch pc := o.(type) {
	case *mcpv1alpha1.ProviderConfig:
		if b := pc.Spec.CABundle; b != nil && b.SecretRef != nil {
			return []string{b.SecretRef.Name}
		}
	case *mcpv1alpha1.ClusterProviderConfig:
		if b := pc.Spec.CABundle; b != nil && b.SecretRef != nil {
			return []string{types.NamespacedName{Namespace: b.SecretRef.Namespace, Name: b.SecretRef.Name}.String()}
		}
	}
	return nil
}

// configsForSecret maps a Secret to the configs that use it: those in its
// namespace that reference it, and those whose provider config takes its CA
// bundle from it. A rotated client secret or CA bundle reaches them within
// seconds, not at the next poll.
func configsForSecret(c client.Reader) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		log := ctrl.LoggerFrom(ctx)
		var reqs requests
		l := &v1alpha1.ExternalAuthConfigList{}
		if err := c.List(ctx, l, client.InNamespace(o.GetNamespace()), client.MatchingFields{secretRefIndex: o.GetName()}); err != nil {
			log.Error(err, errListForSecret)
		}
		reqs.add(l.Items)

		pcs := &mcpv1alpha1.ProviderConfigList{}
		if err := c.List(ctx, pcs, client.InNamespace(o.GetNamespace()), client.MatchingFields{caSecretIndex: o.GetName()}); err != nil {
			log.Error(err, errListForCASecret)
		}
		for _, pc := range pcs.Items {
			reqs.add(configsUsing(ctx, c, pc.GetNamespace(), mcpv1alpha1.ProviderConfigKind, pc.GetName()))
		}
		cpcs := &mcpv1alpha1.ClusterProviderConfigList{}
		if err := c.List(ctx, cpcs, client.MatchingFields{caSecretIndex: client.ObjectKeyFromObject(o).String()}); err != nil {
			log.Error(err, errListForCASecret)
		}
		for _, pc := range cpcs.Items {
			reqs.add(configsUsing(ctx, c, "", mcpv1alpha1.ClusterProviderConfigKind, pc.GetName()))
		}
		return reqs.list
	}
}

// configsForProviderConfig maps a ProviderConfig to the configs in its
// namespace that use it, so a narrowed allow-list, a new CA bundle reference
// or timeout applies within seconds.
func configsForProviderConfig(c client.Reader) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		var reqs requests
		reqs.add(configsUsing(ctx, c, o.GetNamespace(), mcpv1alpha1.ProviderConfigKind, o.GetName()))
		return reqs.list
	}
}

// configsForClusterProviderConfig maps a ClusterProviderConfig to the
// configs in every namespace that use it.
func configsForClusterProviderConfig(c client.Reader) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		var reqs requests
		reqs.add(configsUsing(ctx, c, "", mcpv1alpha1.ClusterProviderConfigKind, o.GetName()))
		return reqs.list
	}
}

// configsUsing lists the configs that reference the provider config of kind
// and name; ns is the namespace of a ProviderConfig, "" for every namespace.
func configsUsing(ctx context.Context, c client.Reader, ns, kind, name string) []v1alpha1.ExternalAuthConfig {
	l := &v1alpha1.ExternalAuthConfigList{}
	if err := c.List(ctx, l, client.InNamespace(ns), client.MatchingFields{providerConfigIndex: providerConfigKey(kind, name)}); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, errListForPC, "kind", kind, "name", name)
		return nil
	}
	return l.Items
}

// requests collects reconcile requests once each: a config may use a Secret
// both directly and through its provider config.
type requests struct {
	seen map[types.NamespacedName]bool
	list []reconcile.Request
}

func (r *requests) add(mgs []v1alpha1.ExternalAuthConfig) {
	for i := range mgs {
		nn := types.NamespacedName{Namespace: mgs[i].GetNamespace(), Name: mgs[i].GetName()}
		if r.seen[nn] {
			continue
		}
		if r.seen == nil {
			r.seen = map[types.NamespacedName]bool{}
		}
		r.seen[nn] = true
		r.list = append(r.list, reconcile.Request{NamespacedName: nn})
	}
}
