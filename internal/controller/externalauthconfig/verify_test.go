package externalauthconfig

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/crossmcp/provider-mcp/apis/auth/v1alpha1"
	"github.com/crossmcp/provider-mcp/internal/oauth"
)

func te(mods ...func(*v1alpha1.TokenExchangeConfig)) *v1alpha1.TokenExchangeConfig {
	c := &v1alpha1.TokenExchangeConfig{TokenURL: tokenURL, ClientID: "mcp-proxy", Audience: "backend", IssuerURL: issuerURL}
	for _, m := range mods {
		m(c)
	}
	return c
}

func TestCheck(t *testing.T) {
	off := false
	md := func(tokenEndpoint string, grants ...string) *oauth.Metadata {
		return &oauth.Metadata{Issuer: issuerURL, TokenEndpoint: tokenEndpoint, GrantTypesSupported: grants}
	}
	type want struct {
		outcome   v1alpha1.VerificationOutcome
		reason    xpv2.ConditionReason
		discovery bool
	}
	cases := map[string]struct {
		reason  string
		te      *v1alpha1.TokenExchangeConfig
		checker *fakeChecker
		want    want
	}{
		"AllGood": {
			reason:  "Matching discovery and accepted credentials verify.",
			te:      te(),
			checker: &fakeChecker{md: md(tokenURL, oauth.GrantTypeTokenExchange), probe: oauth.ProbeResult{Outcome: oauth.OutcomeCredentialsAccepted}},
			want:    want{outcome: v1alpha1.VerificationSucceeded, reason: ReasonVerified, discovery: true},
		},
		"GrantsNotListed": {
			reason:  "A server that lists no grants is not held against.",
			te:      te(),
			checker: &fakeChecker{md: md(tokenURL + "/"), probe: oauth.ProbeResult{Outcome: oauth.OutcomeCredentialsAccepted}},
			want:    want{outcome: v1alpha1.VerificationSucceeded, reason: ReasonVerified, discovery: true},
		},
		"DiscoveryFailed": {
			reason:  "Discovery that fails is a clear reason.",
			te:      te(),
			checker: &fakeChecker{mdErr: errors.New("404 from both URLs")},
			want:    want{outcome: v1alpha1.VerificationFailed, reason: ReasonDiscoveryFailed},
		},
		"EndpointMismatch": {
			reason:  "A token URL the issuer does not advertise is reported.",
			te:      te(),
			checker: &fakeChecker{md: md("https://auth.example.com/other", oauth.GrantTypeTokenExchange)},
			want:    want{outcome: v1alpha1.VerificationFailed, reason: ReasonTokenEndpointMismatch, discovery: true},
		},
		"NotAdvertised": {
			reason:  "An issuer that lists grants without token exchange is reported.",
			te:      te(),
			checker: &fakeChecker{md: md(tokenURL, "authorization_code")},
			want:    want{outcome: v1alpha1.VerificationFailed, reason: ReasonTokenExchangeNotAdvertised, discovery: true},
		},
		"NoIssuer": {
			reason:  "Without an issuer only the probe runs.",
			te:      te(func(c *v1alpha1.TokenExchangeConfig) { c.IssuerURL = "" }),
			checker: &fakeChecker{probe: oauth.ProbeResult{Outcome: oauth.OutcomeCredentialsAccepted}},
			want:    want{outcome: v1alpha1.VerificationSucceeded, reason: ReasonVerified},
		},
		"Skipped": {
			reason: "With both checks off nothing is sent.",
			te: te(func(c *v1alpha1.TokenExchangeConfig) {
				c.Verification = &v1alpha1.VerificationPolicy{Discovery: &off, CredentialProbe: &off}
			}),
			checker: &fakeChecker{},
			want:    want{outcome: v1alpha1.VerificationSkipped, reason: ReasonVerificationSkipped},
		},
	}
	for o, r := range probeReasons {
		cases["Probe"+string(o)] = struct {
			reason  string
			te      *v1alpha1.TokenExchangeConfig
			checker *fakeChecker
			want    want
		}{
			reason:  "Each failing probe outcome has its own reason.",
			te:      te(func(c *v1alpha1.TokenExchangeConfig) { c.IssuerURL = "" }),
			checker: &fakeChecker{probe: oauth.ProbeResult{Outcome: o, Message: "m"}},
			want:    want{outcome: v1alpha1.VerificationFailed, reason: r},
		}
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := check(context.Background(), tc.checker, tc.te, "secret")
			if diff := cmp.Diff(tc.want, want{outcome: got.outcome, reason: got.reason, discovery: got.discovery != nil}, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("\n%s\ncheck(...): -want, +got:\n%s\nmessage: %s", tc.reason, diff, got.message)
			}
			if tc.want.outcome == v1alpha1.VerificationSkipped && tc.checker.discover+tc.checker.probes != 0 {
				t.Errorf("\n%s\ncheck(...) sent requests with verification off", tc.reason)
			}
		})
	}
}

func TestVerifierRemembers(t *testing.T) {
	now := time.Unix(1000, 0)
	ch := &fakeChecker{probe: oauth.ProbeResult{Outcome: oauth.OutcomeCredentialsAccepted}}
	v := newVerifier(func(*http.Client) Checker { return ch }, 10*time.Minute, 30*time.Second)
	v.now = func() time.Time { return now }
	r := request{uid: "u", hash: "h1", settings: clientSettings{timeout: time.Second}, te: te(func(c *v1alpha1.TokenExchangeConfig) { c.IssuerURL = "" })}

	steps := []struct {
		reason  string
		advance time.Duration
		hash    string
		outcome oauth.Outcome
		probes  int
	}{
		{reason: "The first call verifies.", hash: "h1", outcome: oauth.OutcomeCredentialsAccepted, probes: 1},
		{reason: "A poll soon after reuses the outcome.", advance: time.Minute, hash: "h1", outcome: oauth.OutcomeCredentialsAccepted, probes: 1},
		{reason: "A new hash verifies at once.", hash: "h2", outcome: oauth.OutcomeCredentialsAccepted, probes: 2},
		{reason: "After the interval it verifies again.", advance: 11 * time.Minute, hash: "h2", outcome: oauth.OutcomeUnreachable, probes: 3},
		{reason: "A failure is kept only briefly.", advance: 10 * time.Second, hash: "h2", outcome: oauth.OutcomeCredentialsAccepted, probes: 3},
		{reason: "A failure is retried after the retry interval.", advance: 31 * time.Second, hash: "h2", outcome: oauth.OutcomeCredentialsAccepted, probes: 4},
	}
	for _, s := range steps {
		now = now.Add(s.advance)
		r.hash = s.hash
		ch.probe = oauth.ProbeResult{Outcome: s.outcome}
		v.Verify(context.Background(), r)
		if diff := cmp.Diff(s.probes, ch.probes); diff != "" {
			t.Errorf("%s probes: -want, +got:\n%s", s.reason, diff)
		}
	}
	v.Forget("u")
	v.Verify(context.Background(), r)
	if ch.probes != 5 {
		t.Errorf("after Forget the next call must verify: probes = %d, want 5", ch.probes)
	}
}

func TestVerifierClients(t *testing.T) {
	v := newVerifier(NewOAuthChecker, time.Minute, time.Second)
	a, err := v.client(clientSettings{timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := v.client(clientSettings{timeout: time.Second})
	if a != b {
		t.Error("the same settings must share one HTTP client")
	}
	c, _ := v.client(clientSettings{timeout: 2 * time.Second})
	if a == c {
		t.Error("other settings need another HTTP client")
	}
	res := v.Verify(context.Background(), request{uid: "x", hash: "h", settings: clientSettings{caPEM: []byte("junk")}, te: te()})
	if res.outcome != v1alpha1.VerificationFailed {
		t.Errorf("an unusable CA must fail verification, got %s", res.outcome)
	}
}
