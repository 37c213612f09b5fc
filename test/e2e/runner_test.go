//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	authv1alpha1 "github.com/crossmcp/provider-mcp/apis/auth/v1alpha1"
	"github.com/crossmcp/provider-mcp/cluster/local/podrunner"
	"github.com/crossmcp/provider-mcp/test/mcpecho/whoami"
	"github.com/crossmcp/provider-mcp/test/wait"
)

// The audience of the users' tokens the example MCPServer accepts
// (spec.oidc.audience), and the issuer of the plane's authorization server.
const (
	mcpAudience = "mcp-fetch"
	idpIssuer   = "https://127.0.0.1:8443"
)

// proxyEndpoint is the MCP endpoint of MCPServer ns/name's proxy Service,
// at the loopback address the plane gives its ClusterIP.
func proxyEndpoint(t *testing.T, ns, name string) string {
	t.Helper()
	svc := &corev1.Service{}
	if err := kube.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "mcp-" + name + "-proxy"}, svc); err != nil {
		t.Fatal(err)
	}
	ip, err := podrunner.Loopback(svc.Spec.ClusterIP)
	if err != nil {
		t.Fatal(err)
	}
	return "http://" + net.JoinHostPort(ip, strconv.Itoa(int(svc.Spec.Ports[0].Port))) + "/mcp"
}

// serving waits until the real proxy runner answers its health check.
func serving(t *testing.T, endpoint string) {
	t.Helper()
	hc := &http.Client{Timeout: 2 * time.Second}
	wait.For(t, 2*time.Minute, "the proxy runner serves "+endpoint, func() string {
		resp, err := hc.Get(strings.TrimSuffix(endpoint, "/mcp") + "/health")
		if err != nil {
			return err.Error()
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return resp.Status
		}
		return ""
	})
}

func userToken(t *testing.T, sub, aud string) string {
	t.Helper()
	tok, err := whoami.DemoToken(context.Background(), idpHTTP(t), idpIssuer, sub, []string{aud}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// testProxyRunner runs ToolHive's real thv-proxyrunner on what the function
// rendered, and sends it real requests: without a token and with a token
// for another audience it refuses them; with a user's token it exchanges it
// at the real authorization server, and the MCP server behind it receives
// the exchanged token, in Authorization or in the configured header. A
// legacy claim's workload is served the same way.
func testProxyRunner(t *testing.T) {
	ns := newNamespace(t, "runner")
	custom := func(c *authv1alpha1.ExternalAuthConfig) {
		c.Spec.ForProvider.TokenExchange.ExternalTokenHeaderName = "X-Upstream-Token"
	}
	// The legacy path: a claim with the same spec, whose workload runs in
	// the claim's namespace under the claim's name.
	claim := mcpServerXR(t, ns, "claimed", "replace")
	claim.SetKind("MCPServerClaim")
	claim.SetAnnotations(nil)
	mustCreate(t, clientSecretObj(ns, idpClientSecret),
		exampleConfig(t, ns, "replace"), exampleConfig(t, ns, "custom", custom),
		mcpServerXR(t, ns, "fetch", "replace"), mcpServerXR(t, ns, "upstream", "custom"), claim)
	for _, name := range []string{"fetch", "upstream"} {
		wait.For(t, 3*time.Minute, "MCPServer "+name+" Ready", xrReady(t, ns, name))
	}
	wait.For(t, 3*time.Minute, "MCPServerClaim claimed Ready", func() string {
		if c := condition(get(t, "platform.crossmcp.io/v1alpha1", "MCPServerClaim", ns, "claimed"), "Ready"); c.Status != corev1.ConditionTrue {
			return fmt.Sprintf("Ready=%s %s %s", c.Status, c.Reason, c.Message)
		}
		return ""
	})
	exchanged := &whoami.Claims{Issuer: idpIssuer, Subject: "alice", Audience: []string{"backend-api"}, Scope: "backend:read", ClientID: idpClientID}
	user := &whoami.Claims{Issuer: idpIssuer, Subject: "alice", Audience: []string{mcpAudience}, ClientID: idpClientID}
	cases := map[string]struct {
		reason string
		server string
		want   map[string]*whoami.Claims
	}{
		"Replace": {
			reason: "The exchanged token replaces the user's in Authorization.",
			server: "fetch", want: map[string]*whoami.Claims{"Authorization": exchanged},
		},
		"LegacyClaim": {
			reason: "A claim's workload is served the same way.",
			server: "claimed", want: map[string]*whoami.Claims{"Authorization": exchanged},
		},
		"CustomHeader": {
			reason: "The exchanged token goes to the configured header; the user's stays in Authorization.",
			server: "upstream", want: map[string]*whoami.Claims{"Authorization": user, "X-Upstream-Token": exchanged},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ep := proxyEndpoint(t, ns, tc.server)
			serving(t, ep)
			status, challenge, err := whoami.Anonymous(context.Background(), ep)
			if err != nil {
				t.Fatal(err)
			}
			if status != "401 Unauthorized" || !strings.HasPrefix(challenge, "Bearer ") {
				t.Errorf("without a token: %s, WWW-Authenticate %q; want 401 with a Bearer challenge", status, challenge)
			}
			if _, err := whoami.Call(context.Background(), ep, http.Header{"Authorization": {"Bearer " + userToken(t, "alice", "another-mcp-server")}}); err == nil || !strings.Contains(err.Error(), "Unauthorized") {
				t.Errorf("a token for another audience: %v, want Unauthorized", err)
			}
			var got whoami.Report
			wait.For(t, time.Minute, "a call with alice's token", func() string {
				if got, err = whoami.Call(context.Background(), ep, http.Header{"Authorization": {"Bearer " + userToken(t, "alice", mcpAudience)}}); err != nil {
					return err.Error()
				}
				return ""
			})
			if diff := cmp.Diff(tc.want, got.Tokens); diff != "" {
				t.Errorf("%s\nthe MCP server received: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
	runnerWrites(t, ns, "fetch")
}

// runnerWrites checks with the audit log that the proxy runner worked as
// its pod's ServiceAccount, with only the Role the function composed: it
// applied the MCP server's StatefulSet and Services, and nothing it asked
// for was refused.
func runnerWrites(t *testing.T, ns, name string) {
	t.Helper()
	sa := fmt.Sprintf("system:serviceaccount:%s:%s-proxy-runner", ns, name)
	did := map[string]bool{}
	for _, e := range auditLog(t) {
		if e.User.Username != sa {
			continue
		}
		if e.refusedByRBAC() {
			t.Errorf("the proxy runner was refused: %s", e)
		}
		if e.ResponseStatus.Code < 300 {
			did[e.Verb+" "+e.ObjectRef.Resource] = true
		}
	}
	for _, w := range []string{"patch statefulsets", "patch services"} {
		if !did[w] {
			t.Errorf("the audit log has no %q by %s; it did %v", w, sa, keys(did))
		}
	}
}
