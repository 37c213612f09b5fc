// Package externalauthconfig reconciles ExternalAuthConfig managed resources:
// it resolves the referenced secrets, verifies the authorization server and
// publishes the proxy runner's settings as a connection secret.
package externalauthconfig

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/event"
	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/crossmcp/provider-mcp/apis/auth/v1alpha1"
	"github.com/crossmcp/provider-mcp/internal/authconfig"
)

const (
	errNotEAC         = "managed resource is not an ExternalAuthConfig"
	errProviderConfig = "cannot use provider config"
	errGetSecret      = "cannot get referenced secret"
	errGetConnSecret  = "cannot get connection secret"
)

// Event reasons.
const (
	reasonVerified           event.Reason = "Verified"
	reasonVerificationFailed event.Reason = "VerificationFailed"
)

// A connector produces an external client per reconcile; what outlives a
// reconcile (verification outcomes, HTTP clients) lives in the verifier.
type connector struct {
	kube    client.Client
	hashKey []byte
	// namespacedPrivate lets namespaced ProviderConfigs allow private
	// networks (--namespaced-private-networks).
	namespacedPrivate bool
	verifier          *verifier
	recorder          event.Recorder
	policies          bool
	reportUsers       bool
}

// Connect reads the provider config's settings. Its usage is not recorded
// here: the provider config controller counts configs by their reference.
func (c *connector) Connect(ctx context.Context, mg *v1alpha1.ExternalAuthConfig) (managed.TypedExternalClient[*v1alpha1.ExternalAuthConfig], error) {
	e := &external{kube: c.kube, hashKey: c.hashKey, verifier: c.verifier, recorder: c.recorder, policies: c.policies, reportUsers: c.reportUsers}
	// Nothing external needs the provider config to be deleted; a config
	// whose provider config is gone must still be deletable.
	if meta.WasDeleted(mg) {
		return e, nil
	}
	s, err := resolveSettings(ctx, c.kube, mg, c.namespacedPrivate)
	if err != nil {
		setUnavailable(mg, err)
		return nil, errors.Wrap(err, errProviderConfig)
	}
	e.settings = s
	return e, nil
}

// external treats the published connection secret as the external resource.
type external struct {
	kube        client.Client
	hashKey     []byte
	settings    clientSettings
	verifier    *verifier
	recorder    event.Recorder
	policies    bool
	reportUsers bool

	// details computed by Observe, published by Create and Update.
	details managed.ConnectionDetails
}

// Observe resolves, hashes and verifies the config. Problems that make it
// unusable are errors: the reconciler reports them and publishes nothing, so
// the last good connection secret stays in place; so does a configuration
// the authorization server refused.
func (e *external) Observe(ctx context.Context, mg *v1alpha1.ExternalAuthConfig) (managed.ExternalObservation, error) {
	if meta.WasDeleted(mg) {
		e.verifier.Forget(mg.GetUID())
		return managed.ExternalObservation{ResourceExists: false}, nil
	}
	p := mg.Spec.ForProvider
	mg.Status.AtProvider.Type = p.Type

	if err := authconfig.Validate(p, e.settings.allowed); err != nil {
		setUnavailable(mg, err)
		return managed.ExternalObservation{}, err
	}
	values, err := e.resolveSecrets(ctx, mg)
	if err != nil {
		setUnavailable(mg, err)
		return managed.ExternalObservation{}, err
	}

	details := authconfig.Details(p, values)
	hash := authconfig.Hash(details, e.hashKey, string(mg.GetUID()))
	details[authconfig.KeyConfigHash] = []byte(hash)
	e.details = details

	at := &mg.Status.AtProvider
	if e.reportUsers {
		if at.UsedBy, err = users(ctx, e.kube, mg); err != nil {
			return managed.ExternalObservation{}, err
		}
	}
	at.ConfigHash = hash
	at.TokenEndpoint = ""
	v := e.verify(ctx, mg, values, hash)
	// Only a configuration verification accepted (or that nobody asked to
	// verify) is published: the running workloads read the client secret
	// from the connection secret, so a rejected one would reach them at
	// their next restart.
	accepted := v == nil || v.outcome != v1alpha1.VerificationFailed
	update := managed.NewManagementPoliciesResolver(e.policies, mg.GetManagementPolicies()).ShouldUpdate()
	var current managed.ConnectionDetails
	if !accepted || !update {
		if current, err = e.published(ctx, mg); err != nil {
			return managed.ExternalObservation{}, err
		}
	}
	if v != nil {
		e.record(mg, *v, heldNote(accepted, current))
	} else {
		at.Discovery, at.Verification = nil, nil
		mg.SetConditions(xpv2.Available())
	}

	obs := managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: true}
	if accepted && update {
		// Published right after Observe; a no-op when nothing changed.
		obs.ConnectionDetails = details
		at.PublishedConfigHash = hash
		return obs, nil
	}
	// Held or observe only: keep what is published as it is.
	obs.ConnectionDetails = current
	at.PublishedConfigHash = string(current[authconfig.KeyConfigHash])
	if update {
		return obs, nil
	}
	obs.ResourceUpToDate = current == nil || sameDetails(current, details)
	if !obs.ResourceUpToDate {
		obs.Diff = "the connection secret differs from the config; managementPolicies do not allow updating it"
	}
	return obs, nil
}

// resolveSecrets reads every referenced secret value.
func (e *external) resolveSecrets(ctx context.Context, mg *v1alpha1.ExternalAuthConfig) (authconfig.Values, error) {
	refs := authconfig.SecretRefs(mg.Spec.ForProvider)
	values := make(authconfig.Values, len(refs))
	for _, r := range refs {
		s := &corev1.Secret{}
		if err := e.kube.Get(ctx, types.NamespacedName{Namespace: mg.GetNamespace(), Name: r.Name}, s); err != nil {
			if kerrors.IsNotFound(err) {
				return nil, authconfig.Errorf(authconfig.ReasonSecretNotFound, "secret %q not found in namespace %q", r.Name, mg.GetNamespace())
			}
			return nil, errors.Wrap(err, errGetSecret)
		}
		v, ok := s.Data[r.Key]
		if !ok {
			return nil, authconfig.Errorf(authconfig.ReasonSecretKeyNotFound, "secret %q has no key %q", r.Name, r.Key)
		}
		if len(v) == 0 {
			return nil, authconfig.Errorf(authconfig.ReasonSecretValueEmpty, "key %q of secret %q is empty", r.Key, r.Name)
		}
		values[r] = v
	}
	return values, nil
}

// published returns the data of the connection secret, nil when there is none.
func (e *external) published(ctx context.Context, mg *v1alpha1.ExternalAuthConfig) (managed.ConnectionDetails, error) {
	ref := mg.GetWriteConnectionSecretToReference()
	if ref == nil {
		return nil, nil
	}
	s := &corev1.Secret{}
	err := e.kube.Get(ctx, types.NamespacedName{Namespace: mg.GetNamespace(), Name: ref.Name}, s)
	if kerrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, errors.Wrap(err, errGetConnSecret)
	}
	return s.Data, nil
}

// sameDetails reports whether current holds every desired key and value.
func sameDetails(current, desired managed.ConnectionDetails) bool {
	for k, v := range desired {
		if cv, ok := current[k]; !ok || string(cv) != string(v) {
			return false
		}
	}
	return true
}

// Create never happens in practice (Observe always reports the config as
// existing); it publishes the details.
func (e *external) Create(_ context.Context, _ *v1alpha1.ExternalAuthConfig) (managed.ExternalCreation, error) {
	return managed.ExternalCreation{ConnectionDetails: e.details}, nil
}

// Update publishes the details.
func (e *external) Update(_ context.Context, _ *v1alpha1.ExternalAuthConfig) (managed.ExternalUpdate, error) {
	return managed.ExternalUpdate{ConnectionDetails: e.details}, nil
}

// Delete has nothing to do: the connection secret is owned by the config and
// garbage collected with it.
func (e *external) Delete(_ context.Context, mg *v1alpha1.ExternalAuthConfig) (managed.ExternalDelete, error) {
	e.verifier.Forget(mg.GetUID())
	return managed.ExternalDelete{}, nil
}

// Disconnect does nothing.
func (e *external) Disconnect(_ context.Context) error { return nil }

// unavailable is a Ready=False condition with a specific reason.
func unavailable(reason xpv2.ConditionReason, msg string) xpv2.Condition {
	c := xpv2.Unavailable().WithMessage(msg)
	c.Reason = reason
	return c
}

// setUnavailable marks mg not ready for err, with err's reason when it has one.
func setUnavailable(mg resource.Managed, err error) {
	reason := authconfig.ReasonOf(err)
	if reason == "" {
		reason = xpv2.ReasonUnavailable
	}
	mg.SetConditions(unavailable(reason, err.Error()))
}
