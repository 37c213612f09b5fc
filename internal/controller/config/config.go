// Package config reconciles provider configs: it counts their users and
// blocks their deletion while a managed resource uses them.
//
// Users are counted from the informer cache of ExternalAuthConfigs, not from
// ProviderConfigUsage objects as crossplane-runtime's reconciler does: a
// usage object costs one API write and one etcd object per config, which at
// scale is a third of the provider's writes, to record what every config's
// providerConfigRef already says.
package config

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/crossplane/crossplane-runtime/v2/pkg/controller"
	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/event"
	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"
	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/crossplane-runtime/v2/pkg/ratelimiter"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/providerconfig"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"

	authv1alpha1 "github.com/crossmcp/provider-mcp/apis/auth/v1alpha1"
	"github.com/crossmcp/provider-mcp/apis/v1alpha1"
	"github.com/crossmcp/provider-mcp/internal/controller/quiet"
)

// Finalizer is the finalizer that keeps a provider config in use. It is
// crossplane-runtime's, so configs made by earlier versions keep theirs.
const Finalizer = "in-use.crossplane.io"

const (
	errGetPC        = "cannot get provider config"
	errCountUsers   = "cannot count the provider config's users"
	errUpdate       = "cannot update provider config"
	errUpdateStatus = "cannot update provider config status"

	reasonAccount event.Reason = "UsageAccounting"

	// retryWait is how soon a failed count is retried; a successful one
	// needs no retry, because every change of a user is watched.
	retryWait = 30 * time.Second
	timeout   = time.Minute
)

// Users counts the managed resources that use a provider config.
type Users interface {
	// Count returns how many managed resources reference the provider
	// config of kind and name; namespace is a ProviderConfig's own and ""
	// for a ClusterProviderConfig.
	Count(ctx context.Context, kind, namespace, name string) (int64, error)
}

// Setup adds the controllers of ProviderConfig and ClusterProviderConfig.
// Register the index users needs before calling it.
func Setup(mgr ctrl.Manager, o controller.Options, users Users) error {
	if err := setup(mgr, o, users, "providerconfig", v1alpha1.ProviderConfigGroupVersionKind, &v1alpha1.ProviderConfig{}); err != nil {
		return err
	}
	return setup(mgr, o, users, "clusterproviderconfig", v1alpha1.ClusterProviderConfigGroupVersionKind, &v1alpha1.ClusterProviderConfig{})
}

func setup(mgr ctrl.Manager, o controller.Options, users Users, kind string, gvk schema.GroupVersionKind, of resource.ProviderConfig) error {
	name := providerconfig.ControllerName(kind + "." + v1alpha1.Group)
	r := &Reconciler{
		kube:   quiet.Client{Client: mgr.GetClient()},
		users:  users,
		kind:   gvk.Kind,
		newPC:  func() resource.ProviderConfig { return of.DeepCopyObject().(resource.ProviderConfig) }, //nolint:forcetypeassert // A copy of a ProviderConfig is one.
		log:    o.Logger.WithValues("controller", name),
		record: event.NewAPIRecorder(mgr.GetEventRecorderFor(name)), //nolint:staticcheck // crossplane-runtime's recorder wraps the old API.
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named(name).
		WithOptions(o.ForControllerRuntime()).
		For(of).
		Watches(&authv1alpha1.ExternalAuthConfig{}, handler.EnqueueRequestsFromMapFunc(ProviderConfigOf(gvk.Kind))).
		Complete(ratelimiter.NewReconciler(name, errors.WithSilentRequeueOnConflict(r), o.GlobalRateLimiter))
}

// ProviderConfigOf maps an ExternalAuthConfig to its provider config, when
// that is of kind. Updates map both the old and the new object, so a config
// that moves to another provider config is counted off the old one.
func ProviderConfigOf(kind string) handler.MapFunc {
	return func(_ context.Context, o client.Object) []reconcile.Request {
		mg, ok := o.(*authv1alpha1.ExternalAuthConfig)
		if !ok {
			return nil
		}
		ref := mg.GetProviderConfigReference()
		if ref == nil || ref.Kind != kind || ref.Name == "" {
			return nil
		}
		nn := types.NamespacedName{Name: ref.Name}
		if kind == v1alpha1.ProviderConfigKind {
			nn.Namespace = mg.GetNamespace()
		}
		return []reconcile.Request{{NamespacedName: nn}}
	}
}

// A Reconciler keeps a provider config's user count and its finalizer.
type Reconciler struct {
	kube   client.Client
	users  Users
	kind   string
	newPC  func() resource.ProviderConfig
	log    logging.Logger
	record event.Recorder
}

// Reconcile counts the provider config's users. While it has some it keeps
// its finalizer, so deleting it waits, with a Terminating condition saying
// why, until the last user is gone.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	log := r.log.WithValues("request", req)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	pc := r.newPC()
	if err := r.kube.Get(ctx, req.NamespacedName, pc); err != nil {
		return reconcile.Result{}, errors.Wrap(resource.IgnoreNotFound(err), errGetPC)
	}
	users, err := r.users.Count(ctx, r.kind, pc.GetNamespace(), pc.GetName())
	if err != nil {
		log.Debug(errCountUsers, "error", err)
		r.record.Event(pc, event.Warning(reasonAccount, errors.Wrap(err, errCountUsers)))
		return reconcile.Result{RequeueAfter: retryWait}, nil
	}

	if meta.WasDeleted(pc) {
		if users > 0 {
			msg := fmt.Sprintf("Blocking deletion while %d ExternalAuthConfigs use it", users)
			pc.SetUsers(users)
			pc.SetConditions(providerconfig.Terminating().WithMessage(msg))
			// Users are watched: the last one's deletion requeues this.
			return reconcile.Result{}, errors.Wrap(r.kube.Status().Update(ctx, pc), errUpdateStatus)
		}
		meta.RemoveFinalizer(pc, Finalizer)
		return reconcile.Result{}, errors.Wrap(r.kube.Update(ctx, pc), errUpdate)
	}

	meta.AddFinalizer(pc, Finalizer)
	if err := r.kube.Update(ctx, pc); err != nil {
		return reconcile.Result{}, errors.Wrap(err, errUpdate)
	}
	pc.SetUsers(users)
	return reconcile.Result{}, errors.Wrap(r.kube.Status().Update(ctx, pc), errUpdateStatus)
}
