package externalauthconfig

import (
	"context"
	"fmt"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/event"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/crossmcp/provider-mcp/apis/auth/v1alpha1"
	"github.com/crossmcp/provider-mcp/internal/authconfig"
)

// verify checks a token-exchange config against its authorization server;
// other types have nothing to verify and get nil.
func (e *external) verify(ctx context.Context, mg *v1alpha1.ExternalAuthConfig, values authconfig.Values, hash string) *verification {
	p := mg.Spec.ForProvider
	te := p.TokenExchange
	if p.Type != v1alpha1.TypeTokenExchange || te == nil {
		return nil
	}
	mg.Status.AtProvider.TokenEndpoint = te.TokenURL
	var secret string
	if te.ClientSecretRef != nil {
		secret = string(values[*te.ClientSecretRef])
	}
	v := e.verifier.Verify(ctx, request{uid: mg.GetUID(), namespace: mg.GetNamespace(), hash: hash, settings: e.settings, te: te, secret: secret})
	return &v
}

// heldNote tells what workloads get while a configuration is not accepted.
func heldNote(accepted bool, current managed.ConnectionDetails) string {
	if accepted {
		return ""
	}
	if h := string(current[authconfig.KeyConfigHash]); h != "" {
		return fmt.Sprintf("; the connection secret keeps the configuration accepted earlier (configHash %s)", h)
	}
	return "; nothing is published until the authorization server accepts the configuration"
}

// record writes a verification outcome to status and conditions, and emits
// an event when the outcome of an earlier verification changes. A failure's
// condition and event end with note, which says what workloads keep.
func (e *external) record(mg *v1alpha1.ExternalAuthConfig, v verification, note string) {
	at := &mg.Status.AtProvider
	at.Discovery = v.discovery
	prev := at.Verification
	changed := prev == nil || prev.Outcome != v.outcome || prev.Reason != string(v.reason) || prev.ConfigHash != v.hash
	t := metav1.NewTime(v.at)
	if !changed && prev.Time != nil {
		t = *prev.Time
	}
	at.Verification = &v1alpha1.VerificationObservation{
		Outcome:    v.outcome,
		Reason:     string(v.reason),
		Message:    v.message,
		ConfigHash: v.hash,
		Time:       &t,
	}
	if v.outcome == v1alpha1.VerificationFailed {
		mg.SetConditions(unavailable(v.reason, v.message+note))
		if changed {
			e.recorder.Event(mg, event.Warning(reasonVerificationFailed, errors.New(v.message+note)))
		}
		return
	}
	mg.SetConditions(xpv2.Available().WithMessage(v.message))
	// A recovery or a new secret that verifies is news; a new config that
	// verifies is what Ready says already, and an event each would be a
	// third write per config when many are created at once.
	if changed && prev != nil && v.outcome == v1alpha1.VerificationSucceeded {
		e.recorder.Event(mg, event.Normal(reasonVerified, v.message))
	}
}
