package pkgruntime

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pkgv1 "github.com/crossplane/crossplane/apis/v2/pkg/v1"
	pkgv1beta1 "github.com/crossplane/crossplane/apis/v2/pkg/v1beta1"

	authv1alpha1 "github.com/crossmcp/provider-mcp/apis/auth/v1alpha1"

	"github.com/crossmcp/provider-mcp/cluster/local/proc"
)

// runtimeContainer is the container Crossplane's Deployment runtime runs a
// package in.
const runtimeContainer = "package-runtime"

// identity does for a provider revision what Crossplane's Deployment
// runtime does, short of running a pod: it applies the revision's
// ServiceAccount and a Deployment controlled by the revision that runs as
// that ServiceAccount, scaled to zero because the plane runs the provider as
// a local process. Crossplane's RBAC manager binds the revision's system
// ClusterRole to the ServiceAccounts of the Deployments a revision owns, so
// the provider gets exactly the rights a provider gets on a real cluster.
// It returns the ServiceAccount's name.
func (r *Runtime) identity(ctx context.Context, pr *pkgv1.ProviderRevision) (string, error) {
	saName, depName, ownSA, err := r.names(ctx, pr)
	if err != nil {
		return "", err
	}
	owner := *metav1.NewControllerRef(pr, pkgv1.ProviderRevisionGroupVersionKind)
	if ownSA {
		if err := r.serviceAccount(ctx, saName, owner); err != nil {
			return "", err
		}
	}
	labels := map[string]string{pkgv1.LabelRevision: pr.GetName(), "pkg.crossplane.io/provider": pr.GetLabels()[pkgv1.LabelParentPackage]}
	d := &appsv1.Deployment{}
	err = r.Kube.Get(ctx, client.ObjectKey{Namespace: r.Namespace, Name: depName}, d)
	switch {
	case kerrors.IsNotFound(err):
		d = &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: depName, Namespace: r.Namespace, OwnerReferences: []metav1.OwnerReference{owner}},
			Spec: appsv1.DeploymentSpec{
				Replicas: ptr.To[int32](0),
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec: corev1.PodSpec{
						ServiceAccountName: saName,
						Containers:         []corev1.Container{{Name: runtimeContainer, Image: pr.GetResolvedSource()}},
					},
				},
			},
		}
		if err := r.Kube.Create(ctx, d); err != nil {
			return "", fmt.Errorf("cannot create the provider's Deployment: %w", err)
		}
	case err != nil:
		return "", err
	case !metav1.IsControlledBy(d, pr) || d.Spec.Template.Spec.ServiceAccountName != saName || ptr.Deref(d.Spec.Replicas, 1) != 0:
		d.OwnerReferences = []metav1.OwnerReference{owner}
		d.Spec.Template.Spec.ServiceAccountName = saName
		d.Spec.Replicas = ptr.To[int32](0)
		if err := r.Kube.Update(ctx, d); err != nil {
			return "", fmt.Errorf("cannot update the provider's Deployment: %w", err)
		}
	}
	return saName, nil
}

// serviceAccount makes sure the ServiceAccount exists and the active
// revision controls it, demoting any earlier controller as Crossplane does.
func (r *Runtime) serviceAccount(ctx context.Context, name string, owner metav1.OwnerReference) error {
	sa := &corev1.ServiceAccount{}
	err := r.Kube.Get(ctx, client.ObjectKey{Namespace: r.Namespace, Name: name}, sa)
	if kerrors.IsNotFound(err) {
		sa = &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: r.Namespace, OwnerReferences: []metav1.OwnerReference{owner}}}
		if err := r.Kube.Create(ctx, sa); err != nil {
			return fmt.Errorf("cannot create the provider's ServiceAccount: %w", err)
		}
		return nil
	}
	if err != nil {
		return err
	}
	refs := []metav1.OwnerReference{owner}
	controlled := false
	for _, ref := range sa.OwnerReferences {
		if ref.UID == owner.UID {
			controlled = ptr.Deref(ref.Controller, false)
			continue
		}
		ref.Controller = ptr.To(false)
		refs = append(refs, ref)
	}
	if controlled {
		return nil
	}
	sa.OwnerReferences = refs
	if err := r.Kube.Update(ctx, sa); err != nil {
		return fmt.Errorf("cannot update the provider's ServiceAccount: %w", err)
	}
	return nil
}

// names are the names Crossplane's Deployment runtime gives a
// revision's ServiceAccount and Deployment: the revision's own name unless
// its DeploymentRuntimeConfig names them. The runtime config is the one an
// ImageConfig's spec.runtime.configRef picks for the package (the longest
// matching prefix), else the revision's runtimeConfigRef. ownSA is false
// when the runtime config names an existing ServiceAccount for the pod,
// which the runtime then leaves alone.
func (r *Runtime) names(ctx context.Context, pr *pkgv1.ProviderRevision) (sa, deployment string, ownSA bool, err error) {
	rc := "default"
	if ref := pr.GetRuntimeConfigRef(); ref != nil && ref.Name != "" {
		rc = ref.Name
	}
	ics := &pkgv1beta1.ImageConfigList{}
	if err := r.Kube.List(ctx, ics); err != nil {
		return "", "", false, err
	}
	longest := 0
	for _, ic := range ics.Items {
		if ic.Spec.Runtime == nil || ic.Spec.Runtime.ConfigReference == nil {
			continue
		}
		for _, m := range ic.Spec.MatchImages {
			// Crossplane matches the resolved source; the plane's
			// ImageConfig rewrites it to the local registry, so the
			// published name counts too.
			if (strings.HasPrefix(pr.GetResolvedSource(), m.Prefix) || strings.HasPrefix(pr.GetSource(), m.Prefix)) && len(m.Prefix) > longest {
				longest, rc = len(m.Prefix), ic.Spec.Runtime.ConfigReference.Name
			}
		}
	}
	drc := &pkgv1beta1.DeploymentRuntimeConfig{}
	if err := r.Kube.Get(ctx, client.ObjectKey{Name: rc}, drc); err != nil {
		return "", "", false, fmt.Errorf("cannot get DeploymentRuntimeConfig %s: %w", rc, err)
	}
	sa, deployment, ownSA = pr.GetName(), pr.GetName(), true
	if t := drc.Spec.ServiceAccountTemplate; t != nil && t.Metadata != nil && t.Metadata.Name != nil {
		sa = *t.Metadata.Name
	}
	if t := drc.Spec.DeploymentTemplate; t != nil {
		if t.Metadata != nil && t.Metadata.Name != nil {
			deployment = *t.Metadata.Name
		}
		if t.Spec != nil && t.Spec.Template.Spec.ServiceAccountName != "" && t.Spec.Template.Spec.ServiceAccountName != sa {
			sa, ownSA = t.Spec.Template.Spec.ServiceAccountName, false
		}
	}
	return sa, deployment, ownSA, nil
}

// retire deletes the Deployments an inactive revision
// controls, as Crossplane does when it deactivates one; the RBAC manager
// then unbinds its ServiceAccount.
func (r *Runtime) retire(ctx context.Context, pr *pkgv1.ProviderRevision) error {
	l := &appsv1.DeploymentList{}
	if err := r.Kube.List(ctx, l, client.InNamespace(r.Namespace), client.MatchingLabels{pkgv1.LabelRevision: pr.GetName()}); err != nil {
		return err
	}
	for i := range l.Items {
		if metav1.IsControlledBy(&l.Items[i], pr) {
			if err := r.Kube.Delete(ctx, &l.Items[i]); err != nil && !kerrors.IsNotFound(err) {
				return err
			}
		}
	}
	return nil
}

// bound reports whether the RBAC manager has bound the revision's
// system ClusterRole to the ServiceAccount yet: whether it may watch
// ExternalAuthConfigs.
func (r *Runtime) bound(ctx context.Context, sa string) (bool, error) {
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User:   "system:serviceaccount:" + r.Namespace + ":" + sa,
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + r.Namespace, "system:authenticated"},
		ResourceAttributes: &authorizationv1.ResourceAttributes{
			Verb: "watch", Group: authv1alpha1.Group, Resource: "externalauthconfigs",
		},
	}}
	if err := r.Kube.Create(ctx, sar); err != nil {
		return false, err
	}
	return sar.Status.Allowed, nil
}

// serving reports whether a package's process runs and, for the provider,
// answers its readiness probe: when Crossplane's Deployment runtime would
// find the Deployment Available and report the runtime healthy.
func (r *Runtime) serving(ctx context.Context, bin string) bool {
	if !r.Procs.Running(bin) {
		return false
	}
	if bin != "provider" {
		return true
	}
	return proc.HTTPOK(&http.Client{Timeout: 2 * time.Second}, "http://"+r.ProviderHealth+"/readyz")(ctx) == nil
}

// providerEnv is the provider's environment: the identity of sa, once
// Crossplane's RBAC manager has bound its rights, as a pod would be
// restarted until it had them.
func (r *Runtime) providerEnv(ctx context.Context, sa string) ([]string, error) {
	bound, err := r.bound(ctx, sa)
	if err != nil {
		return nil, err
	}
	if !bound {
		return nil, fmt.Errorf("waiting for Crossplane's RBAC manager to bind the provider's ClusterRole to service account %s/%s", r.Namespace, sa)
	}
	kubeconfig, err := r.Kubeconfig(ctx, r.Namespace, sa)
	if err != nil {
		return nil, err
	}
	// As Crossplane's package runtime sets it for a provider's pod.
	return []string{"KUBECONFIG=" + kubeconfig, "POD_NAMESPACE=" + r.Namespace}, nil
}
