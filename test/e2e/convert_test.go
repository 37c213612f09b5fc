//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossmcp/provider-mcp/internal/convert"
	"github.com/crossmcp/provider-mcp/test/mcpecho/whoami"
	"github.com/crossmcp/provider-mcp/test/wait"
)

// crossmcpConvert runs the built crossmcp convert on files: its standard
// output, standard error and whether it succeeded.
func crossmcpConvert(t *testing.T, files ...string) (string, string, bool) {
	t.Helper()
	args := []string{"convert"}
	for _, f := range files {
		args = append(args, "-f", f)
	}
	var out, errOut bytes.Buffer
	cmd := exec.Command(filepath.Join(root, "_output", "bin", "crossmcp"), args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
	return out.String(), errOut.String(), err == nil
}

// ours are the objects of our groups in a converted stream.
func ours(t *testing.T, stream string) []*unstructured.Unstructured {
	t.Helper()
	objs, err := convert.Read(strings.NewReader(stream))
	if err != nil {
		t.Fatalf("convert wrote what is not a YAML stream: %v\n%s", err, stream)
	}
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if strings.HasSuffix(o.GroupVersionKind().Group, ".crossmcp.io") {
			out = append(out, o)
		}
	}
	return out
}

// testConvertToolHive runs crossmcp convert on ToolHive's own example files
// (v0.48.0, whose token-exchange examples still use the older snake_case
// fields). The API server, with our CRDs and the MCPServer XRD's, must accept
// every object it writes; what it cannot convert it must say. Then ToolHive's
// complete example, pointed at the plane's authorization server, is
// converted, applied with kubectl and served: a user's token is exchanged.
func testConvertToolHive(t *testing.T) {
	examples := filepath.Join(toolhiveModule(t), "examples", "operator")
	t.Run("Examples", func(t *testing.T) {
		ns := newNamespace(t, "convert-dry")
		cases := map[string]struct {
			reason string
			want   []string
			fails  string
		}{
			"external-auth/mcpexternalauthconfig_basic.yaml":   {want: []string{"ExternalAuthConfig oauth-token-exchange"}},
			"external-auth/mcpexternalauthconfig_minimal.yaml": {want: []string{"ExternalAuthConfig minimal-oauth"}},
			"external-auth/mcpremoteproxy_with_bearer_token.yaml": {
				reason: "The bearerToken config converts; ToolHive's MCPRemoteProxy has no counterpart.",
				want:   []string{"ExternalAuthConfig api-bearer-auth"},
			},
			"external-auth/complete_example.yaml": {
				reason: "Its MCPServer exchanges tokens without inbound OIDC: refused, its config converted.",
				want:   []string{"ExternalAuthConfig keycloak-token-exchange"}, fails: "needs inbound OIDC",
			},
			"external-auth/mcpserver_with_external_auth.yaml":     {fails: "needs inbound OIDC"},
			"external-auth/mcpexternalauthconfig_private_ca.yaml": {fails: `"embeddedAuthServer" has no counterpart`},
			"mcp-servers/mcpserver_fetch.yaml":                    {want: []string{"MCPServer fetch"}},
			"mcp-servers/mcpserver_fetch_otel.yaml":               {want: []string{"MCPServer fetch"}},
			"mcp-servers/mcpserver_fetch_tools_filter.yaml":       {want: []string{"MCPServer fetch"}},
			"mcp-servers/mcpserver_github.yaml":                   {want: []string{"MCPServer github"}},
			"mcp-servers/mcpserver_mkp.yaml":                      {want: []string{"MCPServer mkp"}},
			"mcp-servers/mcpserver_with_oidcconfig_ref.yaml":      {want: []string{"MCPServer fetch-with-shared-oidc"}},
			"mcp-servers/mcpserver_with_pod_template.yaml":        {want: []string{"MCPServer sample-with-pod-template"}},
			"mcp-servers/mcpserver_with_resource_overrides.yaml":  {want: []string{"MCPServer github-with-overrides"}},
			"mcp-servers/mcpserver_yardstick_stdio.yaml":          {want: []string{"MCPServer yardstick"}},
			"mcp-servers/mcpserver_yardstick_streamablehttp.yaml": {want: []string{"MCPServer yardstick"}},
		}
		for file, tc := range cases {
			t.Run(file, func(t *testing.T) {
				out, notes, ok := crossmcpConvert(t, filepath.Join(examples, file))
				if ok != (tc.fails == "") || !strings.Contains(notes, tc.fails) {
					t.Errorf("%s\nconvert succeeded: %t, said:\n%s\nwant it to fail with %q", tc.reason, ok, notes, tc.fails)
				}
				var got []string
				for _, o := range ours(t, out) {
					got = append(got, o.GetKind()+" "+o.GetName())
					// Into a namespace of the test's: the examples name
					// theirs. The API server validates (a field our
					// schema lacks fails too), stores nothing.
					o.SetNamespace(ns)
					if err := kube.Create(context.Background(), o, client.DryRunAll, client.FieldValidation("Strict")); err != nil {
						t.Errorf("the API server refuses the converted %s %s: %v", o.GetKind(), o.GetName(), err)
					}
				}
				sort.Strings(got)
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("%s\nconverted objects: -want, +got:\n%s", tc.reason, diff)
				}
			})
		}
	})

	t.Run("CompleteExampleServed", func(t *testing.T) {
		ns := newNamespace(t, "convert")
		b, err := os.ReadFile(filepath.Join(examples, "external-auth", "complete_example.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		// What a ToolHive user running it would have filled in: their IdP
		// (here the plane's), and the MCPOIDCConfig the proxy needs.
		in := strings.NewReplacer(
			"namespace: default", "namespace: "+ns,
			"https://keycloak.example.com/realms/myrealm/protocol/openid-connect/token", idpIssuer+"/oauth/token",
			"client_id: toolhive-client", "client_id: "+idpClientID,
			"your-client-secret-here", idpClientSecret,
			"audience: mcp-backend", "audience: backend-api",
			`scope: "openid profile"`, `scope: "backend:read"`,
			"    name: keycloak-token-exchange\n\n", "    name: keycloak-token-exchange\n  oidcConfigRef:\n    name: plane-idp\n    audience: "+mcpAudience+"\n\n",
		).Replace(string(b)) + `
---
apiVersion: toolhive.stacklok.dev/v1beta1
kind: MCPOIDCConfig
metadata:
  name: plane-idp
  namespace: ` + ns + `
spec:
  type: inline
  inline:
    issuer: ` + idpIssuer + `
    jwksAllowPrivateIP: true
    caBundleRef:
      configMapRef: {name: local-idp-ca, key: ca.crt}
`
		if !strings.Contains(in, "oidcConfigRef") || !strings.Contains(in, idpClientSecret) {
			t.Fatalf("ToolHive's complete example changed; the test's edits no longer apply:\n%s", in)
		}
		src := filepath.Join(t.TempDir(), "toolhive.yaml")
		if err := os.WriteFile(src, []byte(in), 0o600); err != nil {
			t.Fatal(err)
		}
		out, notes, ok := crossmcpConvert(t, src)
		if !ok {
			t.Fatalf("convert failed:\n%s", notes)
		}
		dst := filepath.Join(t.TempDir(), "ours.yaml")
		if err := os.WriteFile(dst, []byte(out), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := kubectl("apply", "-f", dst); err != nil {
			t.Fatalf("kubectl apply of the converted example: %v\n%s", err, out)
		}
		wait.For(t, 3*time.Minute, "MCPServer authenticated-fetch Ready", xrReady(t, ns, "authenticated-fetch"))
		ep := proxyEndpoint(t, ns, "authenticated-fetch")
		serving(t, ep)
		var got whoami.Report
		wait.For(t, time.Minute, "a call with alice's token", func() string {
			if got, err = whoami.Call(context.Background(), ep, http.Header{"Authorization": {"Bearer " + userToken(t, "alice", mcpAudience)}}); err != nil {
				return err.Error()
			}
			return ""
		})
		// external_token_header_name, in ToolHive's older spelling, put the
		// exchanged token in X-Upstream-Authorization.
		want := map[string]*whoami.Claims{
			"Authorization":            {Issuer: idpIssuer, Subject: "alice", Audience: []string{mcpAudience}, ClientID: idpClientID},
			"X-Upstream-Authorization": {Issuer: idpIssuer, Subject: "alice", Audience: []string{"backend-api"}, Scope: "backend:read", ClientID: idpClientID},
		}
		if diff := cmp.Diff(want, got.Tokens); diff != "" {
			t.Errorf("the MCP server behind ToolHive's converted example received: -want, +got:\n%s", diff)
		}
		if err := kube.Delete(context.Background(), get(t, "platform.crossmcp.io/v1alpha1", "MCPServer", ns, "authenticated-fetch")); err != nil {
			t.Error(err)
		}
	})
}
