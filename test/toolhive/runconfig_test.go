// Package toolhive checks every RunConfig function-mcp-server renders with
// ToolHive's own code (v0.48.0, the runner we ship for): it must decode with
// the runner's reader and a strict decoder, hold what the runner needs at
// start, and say what ToolHive's own builder would say for the same server.
package toolhive

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"github.com/stacklok/toolhive/pkg/oauthproto/tokenexchange"
	"github.com/stacklok/toolhive/pkg/runner"
	transporttypes "github.com/stacklok/toolhive/pkg/transport/types"
	workloadtypes "github.com/stacklok/toolhive/pkg/workloads/types"

	platform "github.com/crossmcp/provider-mcp/apis/platform/v1alpha1"
	"github.com/crossmcp/provider-mcp/internal/function/input/v1beta1"
	"github.com/crossmcp/provider-mcp/internal/function/render"
)

// notRendered are RunConfig keys ToolHive's operator writes that we leave
// out on purpose, each with why.
var notRendered = map[string]string{
	// The operator stamps its MCPServer's generation to gate StatefulSet
	// applies; a Crossplane-composed runner has no such object to read.
	"mcpserver_generation": "operator-only apply gate",
}

// decodeStrict reads a RunConfig with ToolHive's own reader, then again with
// a decoder that refuses keys runner.RunConfig does not have.
func decodeStrict(t *testing.T, where, rc string) *runner.RunConfig {
	t.Helper()
	got, err := runner.ReadJSON(strings.NewReader(rc))
	if err != nil {
		t.Fatalf("%s: runner.ReadJSON: %v", where, err)
	}
	d := json.NewDecoder(strings.NewReader(rc))
	d.DisallowUnknownFields()
	if err := d.Decode(&runner.RunConfig{}); err != nil {
		t.Errorf("%s: a key runner.RunConfig does not have: %v", where, err)
	}
	return got
}

// checkStart asserts what thv-proxyrunner needs to start in Kubernetes mode.
func checkStart(t *testing.T, where string, rc *runner.RunConfig) {
	t.Helper()
	if rc.SchemaVersion != runner.CurrentSchemaVersion {
		t.Errorf("%s: schema_version %q, the runner's is %q", where, rc.SchemaVersion, runner.CurrentSchemaVersion)
	}
	// An empty container_name makes the runner ask for the StatefulSet "".
	if rc.ContainerName == "" || rc.BaseName == "" {
		t.Errorf("%s: container_name %q, base_name %q: the runner needs both", where, rc.ContainerName, rc.BaseName)
	}
	if _, err := transporttypes.ParseTransportType(string(rc.Transport)); err != nil {
		t.Errorf("%s: transport %q: %v", where, rc.Transport, err)
	}
	http := rc.Transport == transporttypes.TransportTypeSSE || rc.Transport == transporttypes.TransportTypeStreamableHTTP
	if http && (rc.TargetPort < 1 || rc.TargetPort > 65535) {
		t.Errorf("%s: transport %s needs a target_port, got %d (the runner would set MCP_PORT=%d)", where, rc.Transport, rc.TargetPort, rc.TargetPort)
	}
	if rc.Port < 1 || rc.Port > 65535 {
		t.Errorf("%s: port %d", where, rc.Port)
	}
	for _, l := range []string{"toolhive", "toolhive-name", "toolhive-basename", "toolhive-transport", "toolhive-port"} {
		if rc.ContainerLabels[l] == "" {
			t.Errorf("%s: container_labels lacks %s: %v", where, l, rc.ContainerLabels)
		}
	}
	if te := rc.TokenExchangeConfig; te != nil {
		if te.ClientSecret != "" {
			t.Errorf("%s: token_exchange_config carries a client secret", where)
		}
		if rc.OIDCConfig == nil {
			t.Errorf("%s: token exchange without oidc_config exchanges any bearer token a client sends", where)
		}
	}
	if len(rc.MiddlewareConfigs) != 0 {
		t.Errorf("%s: middleware_configs is set: the runner would not build its own chain", where)
	}
}

// rendered is the runconfig.json render.Workload gives for s.
func rendered(t *testing.T, s *render.Server, a *platform.ExternalAuthStatus) string {
	t.Helper()
	in := &v1beta1.Workload{}
	in.Default()
	for _, o := range render.Workload(s, a, in) {
		if cm, ok := o.Object.(*corev1.ConfigMap); ok && o.Name == render.NameRunConfig {
			return cm.Data[render.RunConfigKey]
		}
	}
	t.Fatalf("no RunConfig rendered for %s", s.Name)
	return ""
}

// reference is the RunConfig ToolHive's operator builds for a ToolHive
// MCPServer with the same spec and MCPExternalAuthConfig.
func reference(t *testing.T, s *render.Server, a *platform.ExternalAuthStatus) map[string]any {
	t.Helper()
	spec := s.Spec
	env := map[string]string{}
	for _, e := range spec.Env {
		env[e.Name] = e.Value
	}
	mcpPort := int(spec.MCPPort)
	if mcpPort == 0 {
		mcpPort = 8080 // the operator's GetMCPPort
	}
	opts := []runner.RunConfigBuilderOption{
		runner.WithName(s.Name),
		runner.WithImage(spec.Image),
		runner.WithCmdArgs(spec.Args),
		runner.WithTransportAndPorts(spec.Transport, int(spec.ProxyPort), mcpPort),
		runner.WithProxyMode(transporttypes.ProxyMode(workloadtypes.GetEffectiveProxyMode(transporttypes.TransportType(spec.Transport), spec.ProxyMode))),
		runner.WithHost("0.0.0.0"),
		runner.WithEnvVars(env),
	}
	if o := spec.OIDC; o != nil {
		ca := ""
		if o.CABundleRef != nil {
			key := o.CABundleRef.Key
			if key == "" {
				key = "ca.crt"
			}
			ca = render.OIDCCAMountPath + "/" + key
		}
		opts = append(opts, runner.WithOIDCConfig(o.Issuer, o.Audience, o.JWKSURL, o.IntrospectionURL, o.ClientID, "",
			ca, "", o.ResourceURL, o.JWKSAllowPrivateIP, o.InsecureAllowHTTP, o.Scopes))
	}
	if a != nil && a.TokenURL != "" {
		tt, err := tokenexchange.NormalizeTokenType(a.SubjectTokenType)
		if err != nil {
			t.Fatal(err)
		}
		strategy := "replace"
		if a.ExternalTokenHeaderName != "" {
			strategy = "custom"
		}
		opts = append(opts, runner.WithTokenExchangeConfig(&tokenexchange.Config{
			TokenURL: a.TokenURL, ClientID: a.ClientID, Audience: a.Audience, Scopes: a.Scopes,
			SubjectTokenType: tt, HeaderStrategy: strategy, ExternalTokenHeaderName: a.ExternalTokenHeaderName,
		}))
	}
	rc, err := runner.NewOperatorRunConfigBuilder(context.Background(), nil, env, &runner.DetachedEnvVarValidator{}, opts...)
	if err != nil {
		t.Fatalf("ToolHive's builder refused %s: %v", s.Name, err)
	}
	var b bytes.Buffer
	if err := rc.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	return asMap(t, b.String())
}

// asMap decodes a RunConfig into plain JSON values with empty values and
// the keys we leave out on purpose dropped, so that two RunConfigs compare
// by what they say.
func asMap(t *testing.T, rc string) map[string]any {
	t.Helper()
	m := map[string]any{}
	if err := json.Unmarshal([]byte(rc), &m); err != nil {
		t.Fatal(err)
	}
	for k := range notRendered {
		delete(m, k)
	}
	return prune(m).(map[string]any)
}

func prune(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if e = prune(e); empty(e) {
				delete(v, k)
			} else {
				v[k] = e
			}
		}
	case []any:
		for i := range v {
			v[i] = prune(v[i])
		}
	}
	return v
}

func empty(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return v == ""
	case bool:
		return !v
	case float64:
		return v == 0
	case map[string]any:
		return len(v) == 0
	case []any:
		return len(v) == 0
	}
	return false
}

// diffRunConfigs compares our RunConfig for s with ToolHive's builder's.
func diffRunConfigs(t *testing.T, s *render.Server, a *platform.ExternalAuthStatus, rc string) string {
	t.Helper()
	return cmp.Diff(reference(t, s, a), asMap(t, rc))
}

// TestRunConfigMatrix renders servers across transports, ports, inbound
// OIDC and token-exchange settings and checks each RunConfig with
// ToolHive's reader, its start requirements and its own builder.
func TestRunConfigMatrix(t *testing.T) {
	for name, tc := range matrix() {
		t.Run(name, func(t *testing.T) {
			rc := rendered(t, tc.srv, tc.auth)
			checkStart(t, name, decodeStrict(t, name, rc))
			if diff := diffRunConfigs(t, tc.srv, tc.auth, rc); diff != "" {
				t.Errorf("%s\nour RunConfig and ToolHive's builder's differ: -toolhive, +ours:\n%s", tc.reason, diff)
			}
		})
	}
}
