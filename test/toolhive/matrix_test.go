package toolhive

import (
	"k8s.io/utils/ptr"

	authv1alpha1 "github.com/crossmcp/provider-mcp/apis/auth/v1alpha1"
	platform "github.com/crossmcp/provider-mcp/apis/platform/v1alpha1"
	"github.com/crossmcp/provider-mcp/internal/function/render"
)

type matrixCase struct {
	reason string
	srv    *render.Server
	auth   *platform.ExternalAuthStatus
}

func server(name string, mod func(*platform.MCPServerSpec)) *render.Server {
	s := &render.Server{Name: name, Namespace: "team-a", Spec: platform.MCPServerSpec{
		Image: "ghcr.io/stackloklabs/gofetch/server:1.0.1",
		OIDC:  &platform.OIDCConfig{Issuer: "https://idp.example.com", Audience: "mcp"},
	}}
	if mod != nil {
		mod(&s.Spec)
	}
	render.Defaults(&s.Spec)
	return s
}

func exchange(mod func(*platform.ExternalAuthStatus)) *platform.ExternalAuthStatus {
	a := &platform.ExternalAuthStatus{
		ConfigName: "backend-api", Type: authv1alpha1.TypeTokenExchange, ConfigHash: "0123456789abcdef",
		TokenURL: "https://idp.example.com/oauth/token", ClientID: "mcp-proxy", Audience: "backend",
		ClientSecretRef:  &authv1alpha1.SecretKeyRef{Name: "backend-api", Key: "client_secret"},
		SubjectTokenType: "urn:ietf:params:oauth:token-type:access_token",
	}
	if mod != nil {
		mod(a)
	}
	return a
}

// matrix is the servers TestRunConfigMatrix renders: each setting a user can
// give, alone and in the combinations that change what the runner does.
func matrix() map[string]matrixCase {
	return map[string]matrixCase{
		"StdioDefaults": {
			reason: "A stdio server with every default.",
			srv:    server("stdio", nil),
		},
		"StdioSSEProxy": {
			reason: "A stdio server proxied as SSE.",
			srv:    server("stdio-sse", func(s *platform.MCPServerSpec) { s.ProxyMode = platform.TransportSSE }),
		},
		"StreamableHTTPNoPort": {
			reason: "An HTTP server without mcpPort gets ToolHive's default target port.",
			srv:    server("http", func(s *platform.MCPServerSpec) { s.Transport = platform.TransportStreamableHTTP }),
		},
		"SSEWithPorts": {
			reason: "An SSE server with both ports set.",
			srv: server("sse", func(s *platform.MCPServerSpec) {
				s.Transport, s.ProxyPort, s.MCPPort = platform.TransportSSE, 9090, 3000
			}),
		},
		"ArgsAndEnv": {
			reason: "Arguments and environment reach the MCP server.",
			srv: server("args", func(s *platform.MCPServerSpec) {
				s.Args = []string{"--toolsets", "repos,issues"}
				s.Env = []platform.EnvVar{{Name: "LOG_LEVEL", Value: "debug"}, {Name: "A", Value: "b"}}
			}),
		},
		"NoAuthAtAll": {
			reason: "A server with neither inbound OIDC nor token exchange.",
			srv:    server("open", func(s *platform.MCPServerSpec) { s.OIDC = nil }),
		},
		"FullOIDC": {
			reason: "Every inbound OIDC setting.",
			srv: server("oidc", func(s *platform.MCPServerSpec) {
				s.OIDC = &platform.OIDCConfig{
					Issuer: "https://idp.example.com/realms/a", Audience: "mcp", JWKSURL: "https://idp.example.com/jwks",
					IntrospectionURL: "https://idp.example.com/introspect", ClientID: "mcp-proxy",
					CABundleRef:        &platform.CABundleRef{ConfigMapName: "idp-ca", Key: "bundle.pem"},
					JWKSAllowPrivateIP: true, ResourceURL: "https://mcp.example.com/oidc", Scopes: []string{"openid", "mcp:tools"},
				}
			}),
		},
		"InClusterHTTPIssuer": {
			reason: "An in-cluster plain HTTP issuer, its CA bundle under the default key.",
			srv: server("local-idp", func(s *platform.MCPServerSpec) {
				s.OIDC = &platform.OIDCConfig{
					Issuer: "http://idp.auth.svc.cluster.local:8080", Audience: "mcp", InsecureAllowHTTP: true, JWKSAllowPrivateIP: true,
					CABundleRef: &platform.CABundleRef{ConfigMapName: "idp-ca"},
				}
			}),
			auth: exchange(nil),
		},
		"TokenExchange": {
			reason: "Token exchange that replaces Authorization.",
			srv:    server("exchange", func(s *platform.MCPServerSpec) { s.Transport = platform.TransportStreamableHTTP }),
			auth:   exchange(nil),
		},
		"TokenExchangeCustomHeader": {
			reason: "Token exchange into a custom header, with scopes and an ID token as subject.",
			srv:    server("custom", nil),
			auth: exchange(func(a *platform.ExternalAuthStatus) {
				a.ExternalTokenHeaderName = "X-Upstream-Token"
				a.Scopes = []string{"read", "write"}
				a.SubjectTokenType = "urn:ietf:params:oauth:token-type:id_token"
			}),
		},
		"TokenExchangePublicClient": {
			reason: "Token exchange by a client without a secret.",
			srv:    server("public", nil),
			auth:   exchange(func(a *platform.ExternalAuthStatus) { a.ClientID, a.ClientSecretRef = "", nil }),
		},
		"NamedServiceAccount": {
			reason: "Settings that go to the pod patch change nothing in the RunConfig.",
			srv: server("sa", func(s *platform.MCPServerSpec) {
				s.ServiceAccount = ptr.To("existing")
				s.Secrets = []platform.SecretEnv{{Name: "gh", Key: "token", TargetEnvName: "GITHUB_TOKEN"}}
			}),
		},
	}
}
