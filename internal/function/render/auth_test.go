package render

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	authv1alpha1 "github.com/crossmcp/provider-mcp/apis/auth/v1alpha1"
	platform "github.com/crossmcp/provider-mcp/apis/platform/v1alpha1"
	"github.com/crossmcp/provider-mcp/internal/oauth"
)

// config is a Ready token-exchange config, changed by fns.
func config(fns ...func(*authv1alpha1.ExternalAuthConfig)) *authv1alpha1.ExternalAuthConfig {
	c := &authv1alpha1.ExternalAuthConfig{
		ObjectMeta: metav1.ObjectMeta{Name: "backend-api", Namespace: "team-a", Generation: 2},
		Spec: authv1alpha1.ExternalAuthConfigSpec{ForProvider: authv1alpha1.ExternalAuthConfigParameters{
			Type: authv1alpha1.TypeTokenExchange,
			TokenExchange: &authv1alpha1.TokenExchangeConfig{
				TokenURL:         "https://auth.example.com/oauth2/token",
				ClientID:         "mcp-proxy",
				ClientSecretRef:  &authv1alpha1.SecretKeyRef{Name: "idp-client", Key: "client-secret"},
				Audience:         "backend-api",
				Scopes:           []string{"backend:read"},
				SubjectTokenType: "id_token",
			},
		}},
	}
	c.SetWriteConnectionSecretToReference(&xpv2.LocalSecretReference{Name: "backend-api-token-exchange"})
	c.Status.AtProvider.ConfigHash = "0123456789abcdef"
	c.SetConditions(xpv2.Available().WithObservedGeneration(2))
	for _, f := range fns {
		f(c)
	}
	return c
}

func TestAuth(t *testing.T) {
	type want struct {
		auth   *platform.ExternalAuthStatus
		reason string
	}
	cases := map[string]struct {
		reason string
		cfg    *authv1alpha1.ExternalAuthConfig
		want   want
	}{
		"TokenExchange": {
			reason: "A Ready config gives its settings, the normalised token type and the connection secret's client_secret key.",
			cfg:    config(),
			want: want{auth: &platform.ExternalAuthStatus{
				ConfigName: "backend-api", Type: authv1alpha1.TypeTokenExchange, ConfigHash: "0123456789abcdef",
				TokenURL: "https://auth.example.com/oauth2/token", ClientID: "mcp-proxy", Audience: "backend-api",
				Scopes: []string{"backend:read"}, SubjectTokenType: oauth.TokenTypeIDToken,
				ClientSecretRef: &authv1alpha1.SecretKeyRef{Name: "backend-api-token-exchange", Key: "client_secret"},
			}},
		},
		"PublicClient": {
			reason: "A config without a client secret needs no connection secret.",
			cfg: config(func(c *authv1alpha1.ExternalAuthConfig) {
				c.Spec.ForProvider.TokenExchange.ClientSecretRef = nil
				c.Spec.WriteConnectionSecretToReference = nil
				c.Spec.ForProvider.TokenExchange.SubjectTokenType = ""
			}),
			want: want{auth: &platform.ExternalAuthStatus{
				ConfigName: "backend-api", Type: authv1alpha1.TypeTokenExchange, ConfigHash: "0123456789abcdef",
				TokenURL: "https://auth.example.com/oauth2/token", ClientID: "mcp-proxy", Audience: "backend-api",
				Scopes: []string{"backend:read"}, SubjectTokenType: oauth.TokenTypeAccessToken,
			}},
		},
		"Unauthenticated": {
			reason: "An unauthenticated config is usable and has no token exchange.",
			cfg: config(func(c *authv1alpha1.ExternalAuthConfig) {
				c.Spec.ForProvider = authv1alpha1.ExternalAuthConfigParameters{Type: authv1alpha1.TypeUnauthenticated}
			}),
			want: want{auth: &platform.ExternalAuthStatus{ConfigName: "backend-api", Type: authv1alpha1.TypeUnauthenticated, ConfigHash: "0123456789abcdef"}},
		},
		"NotReady": {
			reason: "A config that is not Ready cannot be used; its reason is passed on.",
			cfg: config(func(c *authv1alpha1.ExternalAuthConfig) {
				c.SetConditions(xpv2.Condition{Type: xpv2.TypeReady, Status: corev1.ConditionFalse, Reason: "CredentialsRejected", Message: "invalid_client"})
			}),
			want: want{reason: ReasonConfigNotReady},
		},
		"StaleGeneration": {
			reason: "A Ready condition of an older generation does not vouch for the current spec.",
			cfg: config(func(c *authv1alpha1.ExternalAuthConfig) {
				c.SetGeneration(3)
			}),
			want: want{reason: ReasonConfigNotReady},
		},
		"NoHash": {
			reason: "Without a hash the workload could not roll on change.",
			cfg: config(func(c *authv1alpha1.ExternalAuthConfig) {
				c.Status.AtProvider.ConfigHash = ""
			}),
			want: want{reason: ReasonConfigNotReady},
		},
		"HeaderInjection": {
			reason: "Types the proxy runner cannot take from this function are refused by name.",
			cfg: config(func(c *authv1alpha1.ExternalAuthConfig) {
				c.Spec.ForProvider = authv1alpha1.ExternalAuthConfigParameters{Type: authv1alpha1.TypeHeaderInjection, HeaderInjection: &authv1alpha1.HeaderInjectionConfig{HeaderName: "X-Key"}}
			}),
			want: want{reason: ReasonConfigUnsupported},
		},
		"NoBlock": {
			reason: "A tokenExchange config without its block is invalid.",
			cfg: config(func(c *authv1alpha1.ExternalAuthConfig) {
				c.Spec.ForProvider.TokenExchange = nil
			}),
			want: want{reason: ReasonConfigInvalid},
		},
		"BadTokenType": {
			reason: "A subject token type the proxy cannot send is invalid.",
			cfg: config(func(c *authv1alpha1.ExternalAuthConfig) {
				c.Spec.ForProvider.TokenExchange.SubjectTokenType = "saml"
			}),
			want: want{reason: ReasonConfigInvalid},
		},
		"NoConnectionSecret": {
			reason: "A client secret that is published nowhere cannot reach the proxy.",
			cfg: config(func(c *authv1alpha1.ExternalAuthConfig) {
				c.Spec.WriteConnectionSecretToReference = nil
			}),
			want: want{reason: ReasonConfigInvalid},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := Auth(tc.cfg)
			if diff := cmp.Diff(tc.want.auth, got); diff != "" {
				t.Errorf("%s\nAuth(...): -want, +got:\n%s", tc.reason, diff)
			}
			var reason string
			if err != nil {
				reason = err.Reason
				if err.Error() == "" {
					t.Errorf("%s\nAuth(...): error without a message", tc.reason)
				}
			}
			if diff := cmp.Diff(tc.want.reason, reason); diff != "" {
				t.Errorf("%s\nAuth(...) reason: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}
