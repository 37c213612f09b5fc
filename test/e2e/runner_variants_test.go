//go:build e2e

package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/crossmcp/provider-mcp/test/mcpecho/whoami"
	"github.com/crossmcp/provider-mcp/test/wait"
)

// testProxyRunnerVariants runs the real proxy runner on MCPServers that
// differ from the example where the RunConfig does: the SSE transport, ports
// of their own with arguments and environment, and inline settings. Each
// becomes Ready and exchanges the user's token.
func testProxyRunnerVariants(t *testing.T) {
	ns := newNamespace(t, "runner-variants")
	set := func(u *unstructured.Unstructured, v any, path ...string) {
		t.Helper()
		if err := unstructured.SetNestedField(u.Object, v, path...); err != nil {
			t.Fatal(err)
		}
	}
	sse := mcpServerXR(t, ns, "sse", "backend-api")
	set(sse, "sse", "spec", "transport")
	unstructured.RemoveNestedField(sse.Object, "spec", "mcpPort")

	ports := mcpServerXR(t, ns, "ports", "backend-api")
	set(ports, int64(9090), "spec", "mcpPort")
	set(ports, int64(9000), "spec", "proxyPort")
	set(ports, []any{"--log-level", "debug"}, "spec", "args")
	set(ports, []any{map[string]any{"name": "GREETING", "value": "hello"}}, "spec", "env")

	inline := mcpServerXR(t, ns, "inline", "unused")
	unstructured.RemoveNestedField(inline.Object, "spec", "externalAuth", "configRef")
	set(inline, map[string]any{
		"type": "tokenExchange",
		"tokenExchange": map[string]any{
			"tokenUrl": idpIssuer + "/oauth/token", "issuerUrl": idpIssuer, "clientId": idpClientID,
			"clientSecretRef": map[string]any{"name": "idp-client", "key": "client-secret"},
			"audience":        "backend-api", "scopes": []any{"backend:read"},
		},
	}, "spec", "externalAuth", "inline")

	mustCreate(t, clientSecretObj(ns, idpClientSecret), exampleConfig(t, ns, "backend-api"), sse, ports, inline)
	exchanged := &whoami.Claims{Issuer: idpIssuer, Subject: "alice", Audience: []string{"backend-api"}, Scope: "backend:read", ClientID: idpClientID}
	for name, path := range map[string]string{"sse": "/sse", "ports": "/mcp", "inline": "/mcp"} {
		t.Run(name, func(t *testing.T) {
			wait.For(t, 3*time.Minute, "MCPServer "+name+" Ready", xrReady(t, ns, name))
			ep := strings.TrimSuffix(proxyEndpoint(t, ns, name), "/mcp") + path
			if path != "/sse" {
				serving(t, ep) // an SSE proxy's /health wants a token too
			}
			var got whoami.Report
			wait.For(t, 2*time.Minute, "a call with alice's token", func() string {
				var err error
				if got, err = whoami.Call(context.Background(), ep, http.Header{"Authorization": {"Bearer " + userToken(t, "alice", mcpAudience)}}); err != nil {
					return err.Error()
				}
				return ""
			})
			if diff := cmp.Diff(map[string]*whoami.Claims{"Authorization": exchanged}, got.Tokens); diff != "" {
				t.Errorf("the MCP server behind %s received: -want, +got:\n%s", ep, diff)
			}
		})
	}
}
