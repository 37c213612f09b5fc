package convert

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const oidcConfig = `
apiVersion: toolhive.stacklok.dev/v1beta1
kind: MCPOIDCConfig
metadata: {name: corp, namespace: team-a}
spec:
  type: inline
  inline:
    issuer: https://idp.example.com
    jwksUrl: https://idp.example.com/jwks
    clientId: toolhive
    clientSecretRef: {name: oidc, key: secret}
    caBundleRef: {configMapRef: {name: idp-ca, key: ca.crt}}
    jwksAllowPrivateIP: true
`

func TestMCPServer(t *testing.T) {
	runCases(t, map[string]convertCase{
		"Full": {
			reason: "Every field we have is carried over; the referenced MCPOIDCConfig becomes spec.oidc with the reference's audience and scopes; what we refuse to carry is named with the reason.",
			in: oidcConfig + `
---
apiVersion: toolhive.stacklok.dev/v1beta1
kind: MCPServer
metadata: {name: fetch, namespace: team-a}
spec:
  image: ghcr.io/stackloklabs/gofetch/server:1.0.1
  transport: streamable-http
  proxyMode: streamable-http
  proxyPort: 8080
  mcpPort: 8081
  args: [--verbose]
  env: [{name: LOG_LEVEL, value: debug}]
  secrets: [{name: github, key: token, targetEnvName: GITHUB_TOKEN}]
  serviceAccount: fetch-sa
  resources: {limits: {cpu: 200m, memory: 256Mi}, requests: {cpu: 100m}}
  oidcConfigRef: {name: corp, audience: mcp-fetch, scopes: [openid], resourceUrl: https://mcp.example.com/mcp}
  externalAuthConfigRef: {name: backend-api}
  replicas: 3
  podTemplateSpec: {spec: {hostNetwork: true}}
`,
			want: converted{
				out: yamlOf(t, `
apiVersion: platform.crossmcp.io/v1alpha1
kind: MCPServer
metadata: {name: fetch, namespace: team-a}
spec:
  image: ghcr.io/stackloklabs/gofetch/server:1.0.1
  transport: streamable-http
  proxyMode: streamable-http
  proxyPort: 8080
  mcpPort: 8081
  args: [--verbose]
  env: [{name: LOG_LEVEL, value: debug}]
  secrets: [{name: github, key: token, targetEnvName: GITHUB_TOKEN}]
  serviceAccount: fetch-sa
  resources: {limits: {cpu: 200m, memory: 256Mi}, requests: {cpu: 100m}}
  oidc:
    issuer: https://idp.example.com
    audience: mcp-fetch
    jwksUrl: https://idp.example.com/jwks
    clientId: toolhive
    caBundleRef: {configMapName: idp-ca, key: ca.crt}
    jwksAllowPrivateIP: true
    resourceUrl: https://mcp.example.com/mcp
    scopes: [openid]
  externalAuth: {configRef: {name: backend-api}}
`),
				notes: []string{
					"MCPOIDCConfig team-a/corp: not written: the MCPServers that reference it carry its settings in spec.oidc",
					"MCPServer team-a/fetch: spec.podTemplateSpec is not carried over: a tenant could use it to gain rights the Composition does not give",
					"MCPServer team-a/fetch: spec.replicas is not carried over: provider-mcp runs one proxy and one server",
					"MCPServer team-a/fetch: MCPOIDCConfig corp spec.inline.clientSecretRef is not carried over: provider-mcp does not support it",
					"MCPServer team-a/fetch: spec.secrets: the Composition's policy.secrets must name these Secrets, or the MCPServer is refused",
					"MCPServer team-a/fetch: spec.serviceAccount: the Composition's policy.serviceAccounts must name fetch-sa, or the MCPServer is refused",
				},
			},
		},
		"TokenExchangeWithoutOIDC": {
			reason: "Token exchange without inbound OIDC would exchange any bearer token: refused, as our MCPServer would be.",
			in: `
apiVersion: toolhive.stacklok.dev/v1beta1
kind: MCPServer
metadata: {name: fetch}
spec: {image: fetch, externalAuthConfigRef: {name: backend-api}}
`,
			want: converted{errs: []string{"MCPServer fetch: spec.externalAuthConfigRef: token exchange needs inbound OIDC, and this MCPServer has no oidcConfigRef: add one, and its MCPOIDCConfig to the input: without it the proxy would exchange any bearer token"}},
		},
		"OIDCConfigMissing": {
			reason: "The MCPOIDCConfig must be in the input, in the MCPServer's namespace.",
			in: oidcConfig + `
---
apiVersion: toolhive.stacklok.dev/v1beta1
kind: MCPServer
metadata: {name: fetch, namespace: team-b}
spec: {image: fetch, oidcConfigRef: {name: corp, audience: mcp-fetch}}
`,
			want: converted{
				notes: []string{"MCPOIDCConfig team-a/corp: not written: the MCPServers that reference it carry its settings in spec.oidc"},
				errs:  []string{`MCPServer team-b/fetch: spec.oidcConfigRef.name: MCPOIDCConfig "corp" is not in the input: convert it together with this MCPServer`},
			},
		},
		"ServiceAccountIssuer": {
			reason: "An MCPOIDCConfig of type kubernetesServiceAccount has no counterpart.",
			in: `
apiVersion: toolhive.stacklok.dev/v1beta1
kind: MCPOIDCConfig
metadata: {name: k8s}
spec: {type: kubernetesServiceAccount, kubernetesServiceAccount: {}}
---
apiVersion: toolhive.stacklok.dev/v1beta1
kind: MCPServer
metadata: {name: fetch}
spec: {image: fetch, oidcConfigRef: {name: k8s, audience: mcp-fetch}}
`,
			want: converted{
				notes: []string{"MCPOIDCConfig k8s: not written: the MCPServers that reference it carry its settings in spec.oidc"},
				errs:  []string{`MCPServer fetch: MCPOIDCConfig k8s spec.type: "kubernetesServiceAccount" is not supported: provider-mcp takes an inline issuer (type inline)`},
			},
		},
		"NoImage": {
			reason: "An MCPServer without an image is refused.",
			in:     "{apiVersion: toolhive.stacklok.dev/v1beta1, kind: MCPServer, metadata: {name: fetch}, spec: {proxyPort: eighty}}",
			want: converted{errs: []string{
				"MCPServer fetch: spec.image: is required",
				"MCPServer fetch: spec.proxyPort: want a number, got string",
			}},
		},
	})
}

func TestPassThrough(t *testing.T) {
	in := `
# ToolHive's examples start with comments and empty documents.
---
apiVersion: v1
kind: Secret
metadata: {name: idp-client, namespace: team-a}
stringData: {client-secret: s3cr3t}
---
apiVersion: toolhive.stacklok.dev/v1beta1
kind: MCPGroup
metadata: {name: g}
---
apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: ConfigMap, metadata: {name: ca}}
- apiVersion: toolhive.stacklok.dev/v1beta1
  kind: MCPExternalAuthConfig
  metadata: {name: te}
  spec: {type: unauthenticated}
`
	got := convertYAML(t, in)
	out, notes, errs := got.out, got.notes, got.errs
	want := yamlOf(t,
		"{apiVersion: v1, kind: Secret, metadata: {name: idp-client, namespace: team-a}, stringData: {client-secret: s3cr3t}}",
		"{apiVersion: v1, kind: ConfigMap, metadata: {name: ca}}",
		"{apiVersion: auth.mcp.crossmcp.io/v1alpha1, kind: ExternalAuthConfig, metadata: {name: te}, spec: {forProvider: {type: unauthenticated}, writeConnectionSecretToRef: {name: te-connection}}}",
	)
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("Objects of other groups pass through as they are, a List gives its items, ToolHive kinds we lack are left out: -want, +got:\n%s", diff)
	}
	if diff := cmp.Diff([]string{"MCPGroup g: not converted: provider-mcp has no counterpart of MCPGroup"}, notes); diff != "" {
		t.Errorf("notes: -want, +got:\n%s", diff)
	}
	if len(errs) != 0 {
		t.Errorf("errors: %v", errs)
	}
}

func TestReadErrors(t *testing.T) {
	cases := map[string]struct {
		reason string
		in     string
		want   string
	}{
		"NotYAML":  {reason: "A document that is not YAML is named by its number.", in: "---\n{apiVersion: v1, kind: Secret}\n---\n: [\n", want: "cannot parse document 2"},
		"NoKind":   {reason: "A document without a kind is named by its number.", in: "metadata: {name: x}\n", want: "cannot parse document 1"},
		"NotAList": {reason: "A List whose items are not objects is refused.", in: "{apiVersion: v1, kind: List, items: [1]}", want: "document 1"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Read(strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s\nRead(...): %v, want an error containing %q", tc.reason, err, tc.want)
			}
		})
	}
}
