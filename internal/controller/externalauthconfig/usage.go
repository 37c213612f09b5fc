package externalauthconfig

import (
	"context"
	"slices"
	"strings"

	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	protectionv1beta1 "github.com/crossplane/crossplane/apis/v2/protection/v1beta1"

	"github.com/crossmcp/provider-mcp/apis/auth/v1alpha1"
)

const (
	errListUsages  = "cannot list the Usages of the config"
	errReviewUsage = "cannot review the provider's access to Usages"
)

// mayWatchUsages asks the apiserver whether the provider may list and watch
// Usages in every namespace.
func mayWatchUsages(ctx context.Context, c client.Client) (bool, error) {
	for _, verb := range []string{"list", "watch"} {
		r := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
			ResourceAttributes: &authorizationv1.ResourceAttributes{Group: protectionv1beta1.Group, Resource: "usages", Verb: verb},
		}}
		if err := c.Create(ctx, r); err != nil {
			return false, errors.Wrap(err, errReviewUsage)
		}
		if !r.Status.Allowed {
			return false, nil
		}
	}
	return true, nil
}

// usedConfig returns the ExternalAuthConfig a Usage protects, if any. Usages
// that select by labels are not resolved: ours name the config.
func usedConfig(u *protectionv1beta1.Usage) (types.NamespacedName, bool) {
	of := u.Spec.Of
	group, _, _ := strings.Cut(of.APIVersion, "/")
	if group != v1alpha1.Group || of.Kind != v1alpha1.ExternalAuthConfigKind || of.ResourceRef == nil {
		return types.NamespacedName{}, false
	}
	ns := u.GetNamespace()
	if of.ResourceRef.Namespace != nil && *of.ResourceRef.Namespace != "" {
		ns = *of.ResourceRef.Namespace
	}
	return types.NamespacedName{Namespace: ns, Name: of.ResourceRef.Name}, true
}

// configsForUsage maps a Usage to the config it protects, so the config's
// users in status follow Usages as they come and go.
func configsForUsage(_ context.Context, o client.Object) []reconcile.Request {
	u, ok := o.(*protectionv1beta1.Usage)
	if !ok {
		return nil
	}
	nn, ok := usedConfig(u)
	if !ok {
		return nil
	}
	return []reconcile.Request{{NamespacedName: nn}}
}

// users lists what uses mg, from the Usages in its namespace, sorted.
func users(ctx context.Context, c client.Reader, mg *v1alpha1.ExternalAuthConfig) ([]v1alpha1.ConfigUser, error) {
	l := &protectionv1beta1.UsageList{}
	if err := c.List(ctx, l, client.InNamespace(mg.GetNamespace())); err != nil {
		return nil, errors.Wrap(err, errListUsages)
	}
	var out []v1alpha1.ConfigUser
	for i := range l.Items {
		u := &l.Items[i]
		nn, ok := usedConfig(u)
		if !ok || nn.Name != mg.GetName() || nn.Namespace != mg.GetNamespace() || u.Spec.By == nil || u.Spec.By.ResourceRef == nil {
			continue
		}
		out = append(out, v1alpha1.ConfigUser{APIVersion: u.Spec.By.APIVersion, Kind: u.Spec.By.Kind, Name: u.Spec.By.ResourceRef.Name, Usage: u.GetName()})
	}
	slices.SortFunc(out, func(a, b v1alpha1.ConfigUser) int { return strings.Compare(a.Usage, b.Usage) })
	return out, nil
}
