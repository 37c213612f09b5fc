package convert

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

// converted is what Convert gives for an input, as YAML documents and the
// notes' and errors' text.
type converted struct {
	out, notes, errs []string
}

// convertCase is a row of the conversion tables.
type convertCase struct {
	reason string
	in     string
	want   converted
}

func runCases(t *testing.T, cases map[string]convertCase) {
	t.Helper()
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, convertYAML(t, tc.in), cmp.AllowUnexported(converted{})); diff != "" {
				t.Errorf("%s\n-want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

// convertYAML converts a YAML stream.
func convertYAML(t *testing.T, in string) converted {
	t.Helper()
	objs, err := Read(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	res := Convert(objs)
	var c converted
	for _, o := range res.Objects {
		b, err := yaml.Marshal(o.Object)
		if err != nil {
			t.Fatal(err)
		}
		c.out = append(c.out, string(b))
	}
	for _, n := range res.Notes {
		c.notes = append(c.notes, n.String())
	}
	for _, e := range res.Errors {
		c.errs = append(c.errs, e.String())
	}
	return c
}

// yamlOf normalises YAML (key order, quoting) for comparing.
func yamlOf(t *testing.T, docs ...string) []string {
	t.Helper()
	out := make([]string, 0, len(docs))
	for _, d := range docs {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(d), &m); err != nil {
			t.Fatal(err)
		}
		b, err := yaml.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

const tokenExchangeOut = `
apiVersion: auth.mcp.crossmcp.io/v1alpha1
kind: ExternalAuthConfig
metadata: {name: te, namespace: team-a, labels: {team: a}}
spec:
  forProvider:
    type: tokenExchange
    tokenExchange:
      tokenUrl: https://idp.example.com/token
      clientId: mcp-proxy
      clientSecretRef: {name: idp-client, key: client-secret}
      audience: backend-api
      scopes: [read, write]
      subjectTokenType: urn:ietf:params:oauth:token-type:access_token
      externalTokenHeaderName: X-Upstream-Token
  writeConnectionSecretToRef: {name: te-connection}
`

func TestExternalAuthConfig(t *testing.T) {
	runCases(t, map[string]convertCase{
		"TokenExchange": {
			reason: "spec goes into spec.forProvider as it is; the config publishes a connection secret; kubectl's last applied configuration stays behind.",
			in: `
apiVersion: toolhive.stacklok.dev/v1beta1
kind: MCPExternalAuthConfig
metadata:
  name: te
  namespace: team-a
  labels: {team: a}
  annotations: {kubectl.kubernetes.io/last-applied-configuration: "{}"}
  resourceVersion: "42"
  uid: 0b3c
spec:
  type: tokenExchange
  tokenExchange:
    tokenUrl: https://idp.example.com/token
    clientId: mcp-proxy
    clientSecretRef: {name: idp-client, key: client-secret}
    audience: backend-api
    scopes: [read, write]
    subjectTokenType: urn:ietf:params:oauth:token-type:access_token
    externalTokenHeaderName: X-Upstream-Token
status: {configHash: abc}
`,
			want: converted{out: yamlOf(t, tokenExchangeOut)},
		},
		"SnakeCase": {
			reason: "ToolHive's older snake_case fields, which its own examples still use, mean the same; scope is a space-separated string.",
			in: `
apiVersion: toolhive.stacklok.dev/v1beta1
kind: MCPExternalAuthConfig
metadata: {name: te, namespace: team-a, labels: {team: a}}
spec:
  type: tokenExchange
  tokenExchange:
    token_url: https://idp.example.com/token
    client_id: mcp-proxy
    client_secret_ref: {name: idp-client, key: client-secret}
    audience: backend-api
    scope: "read write"
    subject_token_type: urn:ietf:params:oauth:token-type:access_token
    external_token_header_name: X-Upstream-Token
`,
			want: converted{out: yamlOf(t, tokenExchangeOut)},
		},
		"HeaderInjectionAndBearerToken": {
			reason: "The other types we support keep their blocks.",
			in: `
apiVersion: toolhive.stacklok.dev/v1beta1
kind: MCPExternalAuthConfig
metadata: {name: header}
spec:
  type: headerInjection
  headerInjection: {headerName: X-API-Key, valueSecretRef: {name: api, key: key}}
---
apiVersion: toolhive.stacklok.dev/v1beta1
kind: MCPExternalAuthConfig
metadata: {name: bearer}
spec:
  type: bearerToken
  bearerToken: {tokenSecretRef: {name: api, key: token}}
`,
			want: converted{out: yamlOf(t, `
apiVersion: auth.mcp.crossmcp.io/v1alpha1
kind: ExternalAuthConfig
metadata: {name: header}
spec:
  forProvider:
    type: headerInjection
    headerInjection: {headerName: X-API-Key, valueSecretRef: {name: api, key: key}}
  writeConnectionSecretToRef: {name: header-connection}
`, `
apiVersion: auth.mcp.crossmcp.io/v1alpha1
kind: ExternalAuthConfig
metadata: {name: bearer}
spec:
  forProvider:
    type: bearerToken
    bearerToken: {tokenSecretRef: {name: api, key: token}}
  writeConnectionSecretToRef: {name: bearer-connection}
`)},
		},
		"UnsupportedType": {
			reason: "A type we do not have is an error naming the types we do, and nothing is written for it.",
			in: `
apiVersion: toolhive.stacklok.dev/v1beta1
kind: MCPExternalAuthConfig
metadata: {name: sts, namespace: a}
spec: {type: awsSts, awsSts: {region: eu-west-1}}
`,
			want: converted{errs: []string{`MCPExternalAuthConfig a/sts: spec.type: "awsSts" has no counterpart in provider-mcp, which supports tokenExchange, headerInjection, bearerToken and unauthenticated`}},
		},
		"Incomplete": {
			reason: "A config that could not have worked is refused field by field, not written half.",
			in: `
apiVersion: toolhive.stacklok.dev/v1beta1
kind: MCPExternalAuthConfig
metadata: {name: te}
spec:
  type: tokenExchange
  tokenExchange: {audience: 7, clientSecretRef: {name: idp-client}}
`,
			want: converted{errs: []string{
				"MCPExternalAuthConfig te: spec.tokenExchange.audience: want a string, got int64",
				"MCPExternalAuthConfig te: spec.tokenExchange.clientSecretRef.name: a Secret reference needs a name and a key",
				"MCPExternalAuthConfig te: spec.tokenExchange.tokenUrl: is required",
			}},
		},
		"UnknownField": {
			reason: "A field we do not carry over is named in a note; the rest is converted.",
			in: `
apiVersion: toolhive.stacklok.dev/v1beta1
kind: MCPExternalAuthConfig
metadata: {name: te}
spec:
  type: unauthenticated
  cacheTTL: 5m
`,
			want: converted{
				out:   yamlOf(t, "{apiVersion: auth.mcp.crossmcp.io/v1alpha1, kind: ExternalAuthConfig, metadata: {name: te}, spec: {forProvider: {type: unauthenticated}, writeConnectionSecretToRef: {name: te-connection}}}"),
				notes: []string{"MCPExternalAuthConfig te: spec.cacheTTL is not carried over: provider-mcp does not support it"},
			},
		},
	})
}
