package authconfig

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/crossmcp/provider-mcp/apis/auth/v1alpha1"
)

var secretRef = v1alpha1.SecretKeyRef{Name: "idp", Key: "client-secret"}

func tokenExchange(mod ...func(*v1alpha1.TokenExchangeConfig)) v1alpha1.ExternalAuthConfigParameters {
	te := &v1alpha1.TokenExchangeConfig{
		TokenURL:        "https://auth.example.com/oauth2/token",
		ClientID:        "mcp-proxy",
		ClientSecretRef: &secretRef,
		Audience:        "backend",
		Scopes:          []string{"read", "write"},
	}
	for _, m := range mod {
		m(te)
	}
	return v1alpha1.ExternalAuthConfigParameters{Type: v1alpha1.TypeTokenExchange, TokenExchange: te}
}

func TestValidate(t *testing.T) {
	type args struct {
		p       v1alpha1.ExternalAuthConfigParameters
		allowed []string
	}
	type want struct {
		reason  xpv2.ConditionReason
		message string
	}
	cases := map[string]struct {
		reason string
		args   args
		want   want
	}{
		"ValidTokenExchange": {
			reason: "A complete https token exchange config is valid.",
			args:   args{p: tokenExchange()},
		},
		"Unauthenticated": {
			reason: "unauthenticated needs no block.",
			args:   args{p: v1alpha1.ExternalAuthConfigParameters{Type: v1alpha1.TypeUnauthenticated}},
		},
		"UnauthenticatedWithBlock": {
			reason: "unauthenticated must not carry a block.",
			args: args{p: v1alpha1.ExternalAuthConfigParameters{
				Type:        v1alpha1.TypeUnauthenticated,
				BearerToken: &v1alpha1.BearerTokenConfig{TokenSecretRef: secretRef},
			}},
			want: want{reason: ReasonInvalidConfig, message: "type unauthenticated must not have a bearerToken block"},
		},
		"UnknownType": {
			reason: "A type the schema would reject is reported, not guessed at.",
			args:   args{p: v1alpha1.ExternalAuthConfigParameters{Type: "awsSts"}},
			want:   want{reason: ReasonInvalidConfig, message: `unknown type "awsSts": want tokenExchange, headerInjection, bearerToken or unauthenticated`},
		},
		"MissingBlock": {
			reason: "tokenExchange without its block is invalid.",
			args:   args{p: v1alpha1.ExternalAuthConfigParameters{Type: v1alpha1.TypeTokenExchange}},
			want:   want{reason: ReasonInvalidConfig, message: "type tokenExchange needs its tokenExchange block"},
		},
		"WrongBlock": {
			reason: "A block of another type is invalid.",
			args: args{p: func() v1alpha1.ExternalAuthConfigParameters {
				p := tokenExchange()
				p.HeaderInjection = &v1alpha1.HeaderInjectionConfig{HeaderName: "X-Key", ValueSecretRef: secretRef}
				return p
			}()},
			want: want{reason: ReasonInvalidConfig, message: "type tokenExchange must not have a headerInjection block"},
		},
		"EmptyAudience": {
			reason: "An audience of blanks is no audience.",
			args:   args{p: tokenExchange(func(te *v1alpha1.TokenExchangeConfig) { te.Audience = "  " })},
			want:   want{reason: ReasonInvalidConfig, message: "tokenExchange.audience must not be empty"},
		},
		"BadSubjectTokenType": {
			reason: "Only the three token types ToolHive knows are accepted.",
			args:   args{p: tokenExchange(func(te *v1alpha1.TokenExchangeConfig) { te.SubjectTokenType = "saml2" })},
			want:   want{reason: ReasonInvalidConfig, message: "invalid subjectTokenType"},
		},
		"SecretWithoutClientID": {
			reason: "A client secret is useless without a client id.",
			args:   args{p: tokenExchange(func(te *v1alpha1.TokenExchangeConfig) { te.ClientID = "" })},
			want:   want{reason: ReasonInvalidConfig, message: "tokenExchange.clientSecretRef requires clientId"},
		},
		"PlainHTTP": {
			reason: "http is refused without the explicit switch.",
			args:   args{p: tokenExchange(func(te *v1alpha1.TokenExchangeConfig) { te.TokenURL = "http://auth.example.com/token" })},
			want:   want{reason: ReasonInvalidConfig, message: "invalid tokenUrl"},
		},
		"PlainHTTPAllowed": {
			reason: "http is accepted with insecureAllowHTTP.",
			args: args{p: tokenExchange(func(te *v1alpha1.TokenExchangeConfig) {
				te.TokenURL = "http://auth.example.com/token"
				te.InsecureAllowHTTP = true
			})},
		},
		"UnparseableURL": {
			reason: "A URL that does not parse is reported.",
			args:   args{p: tokenExchange(func(te *v1alpha1.TokenExchangeConfig) { te.TokenURL = "https://exa mple.com/%zz" })},
			want:   want{reason: ReasonInvalidConfig, message: "invalid tokenUrl"},
		},
		"BadIssuerURL": {
			reason: "The issuer URL is checked like the token URL.",
			args:   args{p: tokenExchange(func(te *v1alpha1.TokenExchangeConfig) { te.IssuerURL = "ftp://auth.example.com" })},
			want:   want{reason: ReasonInvalidConfig, message: "invalid issuerUrl"},
		},
		"HostNotAllowed": {
			reason: "A token host outside the allow-list is refused before any request.",
			args:   args{p: tokenExchange(), allowed: []string{"idp.internal"}},
			want:   want{reason: ReasonHostNotAllowed, message: `host "auth.example.com" is not in the provider config's allowedTokenHosts [idp.internal]`},
		},
		"HostAllowedByWildcard": {
			reason: "A wildcard pattern allows subdomains.",
			args:   args{p: tokenExchange(), allowed: []string{"*.example.com"}},
		},
		"IssuerHostNotAllowed": {
			reason: "The issuer host must be allowed too.",
			args: args{
				p:       tokenExchange(func(te *v1alpha1.TokenExchangeConfig) { te.IssuerURL = "https://login.other.com" }),
				allowed: []string{"auth.example.com"},
			},
			want: want{reason: ReasonHostNotAllowed, message: `host "login.other.com"`},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := Validate(tc.args.p, tc.args.allowed)
			if diff := cmp.Diff(tc.want.reason, ReasonOf(err)); diff != "" {
				t.Errorf("\n%s\nValidate(...): -want reason, +got reason:\n%s\nerror: %v", tc.reason, diff, err)
			}
			if tc.want.message == "" {
				if err != nil {
					t.Errorf("\n%s\nValidate(...): unexpected error %v", tc.reason, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want.message) {
				t.Errorf("\n%s\nValidate(...): want error containing %q, got %v", tc.reason, tc.want.message, err)
			}
		})
	}
}

func TestSecretRefs(t *testing.T) {
	other := v1alpha1.SecretKeyRef{Name: "hdr", Key: "value"}
	cases := map[string]struct {
		reason string
		args   v1alpha1.ExternalAuthConfigParameters
		want   []v1alpha1.SecretKeyRef
	}{
		"TokenExchange":    {reason: "The client secret is referenced.", args: tokenExchange(), want: []v1alpha1.SecretKeyRef{secretRef}},
		"PublicClient":     {reason: "A public client references nothing.", args: tokenExchange(func(te *v1alpha1.TokenExchangeConfig) { te.ClientSecretRef = nil })},
		"HeaderInjection":  {reason: "The header value is referenced.", args: v1alpha1.ExternalAuthConfigParameters{Type: v1alpha1.TypeHeaderInjection, HeaderInjection: &v1alpha1.HeaderInjectionConfig{HeaderName: "X", ValueSecretRef: other}}, want: []v1alpha1.SecretKeyRef{other}},
		"BearerToken":      {reason: "The token is referenced.", args: v1alpha1.ExternalAuthConfigParameters{Type: v1alpha1.TypeBearerToken, BearerToken: &v1alpha1.BearerTokenConfig{TokenSecretRef: other}}, want: []v1alpha1.SecretKeyRef{other}},
		"Unauthenticated":  {reason: "Nothing is referenced.", args: v1alpha1.ExternalAuthConfigParameters{Type: v1alpha1.TypeUnauthenticated}},
		"MismatchedBlocks": {reason: "Only the block of the type counts.", args: v1alpha1.ExternalAuthConfigParameters{Type: v1alpha1.TypeUnauthenticated, BearerToken: &v1alpha1.BearerTokenConfig{TokenSecretRef: other}}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, SecretRefs(tc.args)); diff != "" {
				t.Errorf("\n%s\nSecretRefs(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestDetails(t *testing.T) {
	values := Values{secretRef: []byte("s3cr3t")}
	str := func(d map[string][]byte) map[string]string {
		out := map[string]string{}
		for k, v := range d {
			out[k] = string(v)
		}
		return out
	}
	cases := map[string]struct {
		reason string
		args   v1alpha1.ExternalAuthConfigParameters
		want   map[string]string
	}{
		"TokenExchangeReplace": {
			reason: "Without a header name the strategy is replace, and the default token type is the access token URN.",
			args:   tokenExchange(),
			want: map[string]string{
				KeyType: "tokenExchange", KeyTokenURL: "https://auth.example.com/oauth2/token", KeyClientID: "mcp-proxy",
				KeyClientSecret: "s3cr3t", KeyAudience: "backend", KeyScopes: "read write",
				KeySubjectTokenType: "urn:ietf:params:oauth:token-type:access_token", KeyHeaderStrategy: "replace",
				KeyExternalTokenHeaderName: "",
			},
		},
		"TokenExchangeCustomHeader": {
			reason: "A header name makes the strategy custom; short token types become URNs; a public client has an empty secret key.",
			args: tokenExchange(func(te *v1alpha1.TokenExchangeConfig) {
				te.ExternalTokenHeaderName = "X-Upstream-Token"
				te.SubjectTokenType = "id_token"
				te.ClientSecretRef = nil
				te.Scopes = nil
			}),
			want: map[string]string{
				KeyType: "tokenExchange", KeyTokenURL: "https://auth.example.com/oauth2/token", KeyClientID: "mcp-proxy",
				KeyClientSecret: "", KeyAudience: "backend", KeyScopes: "",
				KeySubjectTokenType: "urn:ietf:params:oauth:token-type:id_token", KeyHeaderStrategy: "custom",
				KeyExternalTokenHeaderName: "X-Upstream-Token",
			},
		},
		"HeaderInjection": {
			reason: "Header injection publishes the header and its value.",
			args:   v1alpha1.ExternalAuthConfigParameters{Type: v1alpha1.TypeHeaderInjection, HeaderInjection: &v1alpha1.HeaderInjectionConfig{HeaderName: "X-Api-Key", ValueSecretRef: secretRef}},
			want:   map[string]string{KeyType: "headerInjection", KeyHeaderName: "X-Api-Key", KeyHeaderValue: "s3cr3t"},
		},
		"BearerToken": {
			reason: "Bearer token publishes the token.",
			args:   v1alpha1.ExternalAuthConfigParameters{Type: v1alpha1.TypeBearerToken, BearerToken: &v1alpha1.BearerTokenConfig{TokenSecretRef: secretRef}},
			want:   map[string]string{KeyType: "bearerToken", KeyBearerToken: "s3cr3t"},
		},
		"Unauthenticated": {
			reason: "unauthenticated publishes only its type.",
			args:   v1alpha1.ExternalAuthConfigParameters{Type: v1alpha1.TypeUnauthenticated},
			want:   map[string]string{KeyType: "unauthenticated"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, str(Details(tc.args, values))); diff != "" {
				t.Errorf("\n%s\nDetails(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

// testKey stands in for the provider's hash key.
var testKey = []byte("a test key of thirty-two bytes!!")

func TestHash(t *testing.T) {
	base := Hash(Details(tokenExchange(), Values{secretRef: []byte("one")}), testKey, "uid-1")
	type args struct {
		p    v1alpha1.ExternalAuthConfigParameters
		v    Values
		key  []byte
		salt string
	}
	cases := map[string]struct {
		reason  string
		args    args
		changed bool
	}{
		"Same": {
			reason: "The same inputs give the same hash.",
			args:   args{p: tokenExchange(), v: Values{secretRef: []byte("one")}, salt: "uid-1"},
		},
		"SecretRotated": {
			reason:  "A new secret value changes the hash.",
			args:    args{p: tokenExchange(), v: Values{secretRef: []byte("two")}, salt: "uid-1"},
			changed: true,
		},
		"AudienceChanged": {
			reason:  "A setting the proxy uses changes the hash.",
			args:    args{p: tokenExchange(func(te *v1alpha1.TokenExchangeConfig) { te.Audience = "other" }), v: Values{secretRef: []byte("one")}, salt: "uid-1"},
			changed: true,
		},
		"ScopesReordered": {
			reason:  "Scope order is what the proxy sends, so it counts.",
			args:    args{p: tokenExchange(func(te *v1alpha1.TokenExchangeConfig) { te.Scopes = []string{"write", "read"} }), v: Values{secretRef: []byte("one")}, salt: "uid-1"},
			changed: true,
		},
		"VerificationSwitches": {
			reason: "Verification settings, the issuer and the http switch do not change what the proxy does.",
			args: args{p: tokenExchange(func(te *v1alpha1.TokenExchangeConfig) {
				f := false
				te.Verification = &v1alpha1.VerificationPolicy{Discovery: &f, CredentialProbe: &f}
				te.IssuerURL = "https://auth.example.com"
				te.InsecureAllowHTTP = true
				te.SubjectProviderName = "ignored"
			}), v: Values{secretRef: []byte("one")}, salt: "uid-1"},
		},
		"ShortTokenType": {
			reason: "access_token and its URN are the same setting.",
			args:   args{p: tokenExchange(func(te *v1alpha1.TokenExchangeConfig) { te.SubjectTokenType = "access_token" }), v: Values{secretRef: []byte("one")}, salt: "uid-1"},
		},
		"OtherResource": {
			reason:  "Another resource with the same secret gets another hash.",
			args:    args{p: tokenExchange(), v: Values{secretRef: []byte("one")}, salt: "uid-2"},
			changed: true,
		},
		"OtherKey": {
			reason:  "Another provider key gives another hash.",
			args:    args{p: tokenExchange(), v: Values{secretRef: []byte("one")}, key: []byte("another key of sixteen+ bytes"), salt: "uid-1"},
			changed: true,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			key := tc.args.key
			if key == nil {
				key = testKey
			}
			got := Hash(Details(tc.args.p, tc.args.v), key, tc.args.salt)
			if diff := cmp.Diff(tc.changed, got != base); diff != "" {
				t.Errorf("\n%s\nHash(...) changed: -want, +got:\n%s", tc.reason, diff)
			}
			if len(got) != 32 {
				t.Errorf("\n%s\nHash(...) = %q, want 32 hex characters (128 bits)", tc.reason, got)
			}
		})
	}
}

func TestHashIgnoresPublishedHash(t *testing.T) {
	d := Details(tokenExchange(), Values{secretRef: []byte("one")})
	want := Hash(d, testKey, "uid")
	d[KeyConfigHash] = []byte("anything")
	if got := Hash(d, testKey, "uid"); got != want {
		t.Errorf("Hash(...) with config_hash = %q, want %q: the hash must not cover itself", got, want)
	}
}

func TestHashHidesSecret(t *testing.T) {
	// The hash must not be a plain digest of the secret: no input without
	// the salt reproduces it.
	d := Details(tokenExchange(), Values{secretRef: []byte("one")})
	if Hash(d, testKey, "a") == Hash(d, testKey, "b") {
		t.Error("Hash(...) does not depend on the salt: secret values are not keyed")
	}
}

// TestHashNeedsTheKey is the offline guessing attack: whoever reads a pod
// annotation and the config (its UID and every setting are public) tries a
// dictionary of weak secrets. Keyed by the UID alone, as the hash once
// was, the right guess matched; under the provider's key none does.
func TestHashNeedsTheKey(t *testing.T) {
	const uid = "0b7c5a52-8d7e-4c3a-9f0e-3c1f1d2e4a5b"
	published := Hash(Details(tokenExchange(), Values{secretRef: []byte("summer2026")}), testKey, uid)
	for _, guess := range []string{"password", "letmein", "summer2026", "proxy-secret"} {
		d := Details(tokenExchange(), Values{secretRef: []byte(guess)})
		for _, key := range [][]byte{nil, []byte(uid), []byte("")} {
			if Hash(d, key, uid) == published {
				t.Errorf("the guess %q, keyed with %q, reproduces the published hash", guess, key)
			}
		}
	}
}

// TestHashPinned: the hash is published in status and rolls every workload
// using the config when it changes, so its algorithm must not change by
// accident.
func TestHashPinned(t *testing.T) {
	headerRef := v1alpha1.SecretKeyRef{Name: "api", Key: "token"}
	bearerRef := v1alpha1.SecretKeyRef{Name: "api", Key: "bearer"}
	long := []byte(strings.Repeat("abcdefghijklmnopqrstuvwxyz", 12)[:300])
	cases := map[string]struct {
		d    map[string][]byte
		salt string
		want string
	}{
		"TokenExchange": {
			d:    Details(tokenExchange(), Values{secretRef: []byte("one")}),
			salt: "uid-1", want: "185d36ee4eccc62572480e5ce0362e11",
		},
		"TokenExchangeCustomHeader": {
			d: Details(tokenExchange(func(te *v1alpha1.TokenExchangeConfig) {
				te.ExternalTokenHeaderName = "X-Upstream"
				te.SubjectTokenType = "id_token"
				te.ClientSecretRef = nil
			}), nil),
			salt: "uid-1", want: "a533c7ee7da9777ad3aa7e139b14aaca",
		},
		"HeaderInjection": {
			d: Details(v1alpha1.ExternalAuthConfigParameters{
				Type:            v1alpha1.TypeHeaderInjection,
				HeaderInjection: &v1alpha1.HeaderInjectionConfig{HeaderName: "X-API-Key", ValueSecretRef: headerRef},
			}, Values{headerRef: []byte("v")}),
			salt: "uid-2", want: "2cba36daad69650fa01837d3a7fda4c5",
		},
		"BearerToken": {
			d: Details(v1alpha1.ExternalAuthConfigParameters{
				Type:        v1alpha1.TypeBearerToken,
				BearerToken: &v1alpha1.BearerTokenConfig{TokenSecretRef: bearerRef},
			}, Values{bearerRef: []byte("tok")}),
			salt: "uid-3", want: "ee7c3ab5f5618f8810ebabb9cdc93018",
		},
		"Unauthenticated": {
			d:    Details(v1alpha1.ExternalAuthConfigParameters{Type: v1alpha1.TypeUnauthenticated}, nil),
			want: "3f41b3ecfeb9e0234821b46f83ccb06f",
		},
		"LongValues": {
			d:    map[string][]byte{"k": long, KeyClientSecret: long, "empty": {}},
			salt: "s", want: "3854d343f3b811685fff0da8b4f4f296",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := Hash(tc.d, testKey, tc.salt); got != tc.want {
				t.Errorf("Hash(...) = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestReasonOf(t *testing.T) {
	cases := map[string]struct {
		reason string
		args   error
		want   xpv2.ConditionReason
	}{
		"Nil":     {reason: "No error, no reason.", args: nil, want: ""},
		"Plain":   {reason: "A plain error carries no reason.", args: errors.New("boom"), want: ""},
		"Direct":  {reason: "An *Error carries its reason.", args: Errorf(ReasonSecretNotFound, "x"), want: ReasonSecretNotFound},
		"Wrapped": {reason: "A wrapped *Error still carries its reason.", args: fmt.Errorf("context: %w", Errorf(ReasonHostNotAllowed, "x")), want: ReasonHostNotAllowed},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, ReasonOf(tc.args)); diff != "" {
				t.Errorf("\n%s\nReasonOf(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}
