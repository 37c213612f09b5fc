package externalauthconfig

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/crossmcp/provider-mcp/apis/auth/v1alpha1"
	"github.com/crossmcp/provider-mcp/internal/oauth"
)

// TestVerifierMetrics checks that each verification that went to a server
// is recorded with its outcome, reason and duration, and one answered from
// memory is not.
func TestVerifierMetrics(t *testing.T) {
	now := time.Unix(1000, 0)
	ch := &fakeChecker{probe: oauth.ProbeResult{Outcome: oauth.OutcomeCredentialsAccepted}}
	v := newVerifier(func(*http.Client) Checker { return ch }, 10*time.Minute, 30*time.Second)
	v.now = func() time.Time { return now }
	type observed struct {
		Outcome v1alpha1.VerificationOutcome
		Reason  string
		Took    time.Duration
	}
	var got []observed
	v.observe = func(r verification, took time.Duration) {
		got = append(got, observed{Outcome: r.outcome, Reason: string(r.reason), Took: took})
	}
	r := request{uid: "u", hash: "h1", settings: clientSettings{timeout: time.Second}, te: te(func(c *v1alpha1.TokenExchangeConfig) { c.IssuerURL = "" })}

	v.Verify(context.Background(), r)
	now = now.Add(time.Minute)
	v.Verify(context.Background(), r) // from memory
	r.hash = "h2"
	ch.probe = oauth.ProbeResult{Outcome: oauth.OutcomeCredentialsRejected}
	v.Verify(context.Background(), r)

	want := []observed{
		{Outcome: v1alpha1.VerificationSucceeded, Reason: string(ReasonVerified)},
		{Outcome: v1alpha1.VerificationFailed, Reason: string(ReasonCredentialsRejected)},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("observed verifications: -want, +got:\n%s", diff)
	}
}

func TestObserveVerification(t *testing.T) {
	c := verificationsTotal.WithLabelValues(string(v1alpha1.VerificationFailed), string(ReasonCredentialsRejected))
	before := testutil.ToFloat64(c)
	hBefore := testutil.CollectAndCount(verificationSeconds)
	observeVerification(verification{outcome: v1alpha1.VerificationFailed, reason: ReasonCredentialsRejected}, 2*time.Second)
	if got := testutil.ToFloat64(c) - before; got != 1 {
		t.Errorf("provider_mcp_verifications_total{Failed,CredentialsRejected} rose by %v, want 1", got)
	}
	if testutil.CollectAndCount(verificationSeconds) < max(hBefore, 1) {
		t.Error("provider_mcp_verification_duration_seconds has no series")
	}
}
