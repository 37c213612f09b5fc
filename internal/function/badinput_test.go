package function

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"

	"github.com/crossmcp/provider-mcp/internal/function/render"
)

// running is an MCPServer whose workload runs: the XR as the last good render
// left it (status.externalAuth records the config in use) and every composed
// resource observed as that render desired it, the Deployment Available.
type running struct {
	xr       map[string]any
	config   map[string]any // the required ExternalAuthConfig, Ready
	observed map[string]*fnv1.Resource
	desired  map[string]*fnv1.Resource
	status   map[string]any
}

func decode(t *testing.T, j string) map[string]any {
	t.Helper()
	m := map[string]any{}
	if err := json.Unmarshal([]byte(j), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func toStruct(t *testing.T, m map[string]any) *structpb.Struct {
	t.Helper()
	s, err := structpb.NewStruct(m)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// startRunning renders xr with the good config, lets the cluster apply what
// it desired, and renders again: the steady state of a running server.
func startRunning(t *testing.T, f *Function, xr, cfg string, observedCfg bool) running {
	t.Helper()
	r := running{xr: decode(t, xr), config: decode(t, cfg), observed: map[string]*fnv1.Resource{}}
	if observedCfg {
		r.observed[render.NameExternalAuthConfig] = &fnv1.Resource{Resource: toStruct(t, r.config)}
	}
	for range 2 {
		rq := &fnv1.RunFunctionRequest{
			Observed: &fnv1.State{Composite: &fnv1.Resource{Resource: toStruct(t, r.xr)}, Resources: r.observed},
			Desired:  &fnv1.State{},
		}
		if !observedCfg {
			rq.RequiredResources = map[string]*fnv1.Resources{RequiredConfig: {Items: []*fnv1.Resource{{Resource: toStruct(t, r.config)}}}}
		}
		rsp, err := f.RunFunction(context.Background(), rq)
		if err != nil {
			t.Fatal(err)
		}
		for _, res := range rsp.GetResults() {
			if res.GetSeverity() != fnv1.Severity_SEVERITY_NORMAL {
				t.Fatalf("the good render has a %s result: %s", res.GetSeverity(), res.GetMessage())
			}
		}
		r.desired = rsp.GetDesired().GetResources()
		r.status, _ = rsp.GetDesired().GetComposite().GetResource().AsMap()["status"].(map[string]any)
		r.xr["status"] = r.status
		for name, d := range r.desired {
			o := d.GetResource().AsMap()
			if name == render.NameDeployment {
				o["status"] = map[string]any{"conditions": []any{map[string]any{"type": "Available", "status": "True"}}}
			}
			if name != render.NameExternalAuthConfig {
				r.observed[name] = &fnv1.Resource{Resource: toStruct(t, o)}
			}
		}
	}
	if r.status["externalAuth"] == nil {
		t.Fatalf("the good render records no config in use: %v", r.status)
	}
	for name, d := range r.desired {
		if d.GetReady() != fnv1.Ready_READY_TRUE {
			t.Fatalf("composed resource %s is not ready in the steady state", name)
		}
	}
	return r
}

// desiredState is each desired composed resource as readiness and object.
func desiredState(rs map[string]*fnv1.Resource) map[string]any {
	out := make(map[string]any, len(rs))
	for n, r := range rs {
		out[n] = map[string]any{"ready": r.GetReady().String(), "resource": r.GetResource().AsMap()}
	}
	return out
}

// clone deep-copies a JSON-like value.
func clone(t *testing.T, m map[string]any) map[string]any {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, string(b))
}

func field(m map[string]any, path ...string) map[string]any {
	for _, p := range path {
		m = m[p].(map[string]any)
	}
	return m
}

// outcome is what a bad-input case is judged on.
type outcome struct {
	// Fatal is the message of the fatal result, which makes Crossplane apply,
	// delete and record nothing for this XR.
	Fatal string
	// Warnings are "reason: message" of the warning results.
	Warnings []string
	// Conditions are "status/reason: message" by condition type.
	Conditions map[string]string
}

// TestBadInputFunction is the function's bad-input matrix. Every case starts
// from a running MCPServer (a good config rendered, its objects observed),
// breaks one input, and checks the exact result and conditions and that
// nothing the cluster runs would change: a fatal result (Crossplane then
// changes nothing) with no desired objects, or the very same desired objects
// and XR status as the good render.
func TestBadInputFunction(t *testing.T) {
	f := New(logging.NewNopLogger())
	shared := startRunning(t, f, xrRef, config("team-a"), false)
	inlineCfg := strings.ReplaceAll(config("team-a"), "backend-api", "github-external-auth")
	inline := startRunning(t, f, xrInline, inlineCfg, true)

	const (
		keeps       = `; the workload keeps running with ExternalAuthConfig "backend-api" (configHash 1111222233334444)`
		keepsInline = `; the workload keeps running with ExternalAuthConfig "github-external-auth" (configHash 1111222233334444)`
		active      = "TRUE/Active: tokens validated against https://idp.example.com are exchanged at https://auth.example.com/token for audience \"backend\""
		notFound    = `ExternalAuthConfig "backend-api" not found in namespace "team-a"`
		// The bad-input matrix runs on the function alone: no proxy
		// runner has created the MCP server's StatefulSet.
		waitingRunner = `FALSE/WaitingForProxyRunner: waiting for the proxy runner to create StatefulSet "github"`
	)
	noCondition := map[string]string{}

	type args struct {
		base   running
		spec   func(spec map[string]any)   // breaks the XR's spec
		input  string                      // the Composition's input; "" for none
		config func(cfg map[string]any)    // changes the ExternalAuthConfig
		found  func() []map[string]any     // what Crossplane found for the reference; nil: the config
		status func(status map[string]any) // changes the XR's status
	}
	cases := map[string]struct {
		reason string
		args   args
		want   outcome
		// fatalHas, when set, are fragments of a fatal message whose rest
		// is worded by the SDK and encoding/json: want.Fatal is its prefix.
		fatalHas []string
		// unready are composed resources that are rightly no longer ready.
		unready []string
	}{
		"NoImage": {
			reason: "An XR without an image (the schema bypassed) is refused.",
			args:   args{base: shared, spec: func(s map[string]any) { delete(s, "image") }},
			want:   outcome{Fatal: "invalid MCPServer: spec.image is required: the MCP server's container image"},
		},
		"ImageIsRunnerFlag": {
			reason: "An image that would be a flag to the proxy runner (the schema bypassed, or an old XRD) is refused; nothing running changes.",
			args: args{base: shared, spec: func(s map[string]any) {
				s["image"] = `--k8s-pod-patch={"spec":{"hostNetwork":true,"containers":[{"name":"mcp","securityContext":{"privileged":true}}]}}`
			}},
			want: outcome{Fatal: `invalid MCPServer: spec.image "--k8s-pod-patch={\"spec\":{\"hostNetwork\":true,\"containers\":[{\"name\":\"mcp\",\"securityContext\":{\"privileged\":true}}]}}" must not start with "-": it would be a flag to the proxy runner`},
		},
		"ImageNotAReference": {
			reason:   "An image that is no image reference is refused.",
			args:     args{base: shared, spec: func(s map[string]any) { s["image"] = "ghcr.io/x y" }},
			want:     outcome{Fatal: `invalid MCPServer: spec.image "ghcr.io/x y" is not an image reference: `},
			fatalHas: []string{"ghcr.io/x y"},
		},
		"ServiceAccountChosen": {
			reason: "Whoever may create an MCPServer cannot run its server as another ServiceAccount of the namespace, unless the Composition's policy allows it; nothing running changes.",
			args:   args{base: shared, spec: func(s map[string]any) { s["serviceAccount"] = "namespace-admin" }},
			want:   outcome{Fatal: `MCPServer refused: spec.serviceAccount "namespace-admin": the Composition's policy lets no MCPServer choose the ServiceAccount its server runs as (policy.serviceAccounts is empty); remove it, and the server runs as github-sa`},
		},
		"SecretExposed": {
			reason: "Nor expose a Secret of the namespace it may not read to its server.",
			args: args{base: shared, spec: func(s map[string]any) {
				s["secrets"] = []any{map[string]any{"name": "db-root-password", "key": "password"}}
			}},
			want: outcome{Fatal: `MCPServer refused: spec.secrets[0]: Secret "db-root-password" is not one the Composition's policy lets an MCPServer expose (policy.secrets [])`},
		},
		"UnknownTransport": {
			reason: "A transport the runner does not know is refused.",
			args:   args{base: shared, spec: func(s map[string]any) { s["transport"] = "grpc" }},
			want:   outcome{Fatal: `invalid MCPServer: spec.transport "grpc" is not one of stdio, sse, streamable-http`},
		},
		"ProxyPortOutOfRange": {
			reason: "A proxy port above 65535 is refused.",
			args:   args{base: shared, spec: func(s map[string]any) { s["proxyPort"] = 70000 }},
			want:   outcome{Fatal: "invalid MCPServer: spec.proxyPort 70000 is not a port (1-65535)"},
		},
		"MCPPortOutOfRange": {
			reason: "A negative MCP port is refused.",
			args:   args{base: shared, spec: func(s map[string]any) { s["mcpPort"] = -1 }},
			want:   outcome{Fatal: "invalid MCPServer: spec.mcpPort -1 is not a port (1-65535)"},
		},
		"BothRefAndInline": {
			reason: "configRef and inline together are refused.",
			args: args{base: shared, spec: func(s map[string]any) {
				field(s, "externalAuth")["inline"] = map[string]any{"type": "unauthenticated"}
			}},
			want: outcome{Fatal: "invalid MCPServer: spec.externalAuth must set exactly one of configRef and inline"},
		},
		"ConfigRefNamespace": {
			reason: "A reference to another namespace is refused.",
			args:   args{base: shared, spec: func(s map[string]any) { field(s, "externalAuth", "configRef")["namespace"] = "team-b" }},
			want:   outcome{Fatal: `invalid MCPServer: spec.externalAuth.configRef.namespace is not allowed: the ExternalAuthConfig must be in the MCPServer's namespace "team-a"`},
		},
		"MalformedInput": {
			reason:   "An input whose fields have the wrong shape is refused.",
			args:     args{base: shared, input: `{"apiVersion":"mcpserver.fn.crossmcp.io/v1beta1","kind":"Workload","labels":"team-a"}`},
			want:     outcome{Fatal: "invalid function input: cannot get function input *v1beta1.Workload from *v1.RunFunctionRequest: cannot unmarshal JSON from *structpb.Struct into *v1beta1.Workload: "},
			fatalHas: []string{"string", "map[string]string"},
		},
		"UnknownInputField": {
			reason:   "A misspelt input field is refused, not ignored.",
			args:     args{base: shared, input: `{"apiVersion":"mcpserver.fn.crossmcp.io/v1beta1","kind":"Workload","runnerImag":"typo"}`},
			want:     outcome{Fatal: "invalid function input: cannot get function input *v1beta1.Workload from *v1.RunFunctionRequest: cannot unmarshal JSON from *structpb.Struct into *v1beta1.Workload: "},
			fatalHas: []string{"unknown", `"runnerImag"`},
		},
		"UnknownConfigMode": {
			reason: "An input value outside the enum is refused.",
			args:   args{base: shared, input: `{"apiVersion":"mcpserver.fn.crossmcp.io/v1beta1","kind":"Workload","configMode":"Env"}`},
			want:   outcome{Fatal: `invalid function input: configMode "Env" is not "ConfigMap", the only mode`},
		},
		"RetiredFlagsMode": {
			reason: "Flags mode is retired: no proxy runner accepts token-exchange flags. The input is refused, naming ConfigMap mode, and the workload stays.",
			args:   args{base: shared, input: `{"apiVersion":"mcpserver.fn.crossmcp.io/v1beta1","kind":"Workload","configMode":"Flags"}`},
			want:   outcome{Fatal: `invalid function input: configMode "Flags" is retired: no ToolHive proxy runner release accepts token-exchange flags, it reads its settings from runconfig.json only; remove configMode or set it to "ConfigMap"`},
		},
		"ForeignInput": {
			reason: "An input of another function's kind is refused, not rendered with defaults.",
			args:   args{base: shared, input: `{"apiVersion":"other.example.com/v1","kind":"SomethingElse","configMode":"Flags"}`},
			want:   outcome{Fatal: `invalid function input: input is apiVersion "other.example.com/v1", kind "SomethingElse": function-mcp-server takes apiVersion "mcpserver.fn.crossmcp.io/v1beta1", kind "Workload"`},
		},
		"InputOtherVersion": {
			reason: "An input of a version the function does not know is refused.",
			args:   args{base: shared, input: `{"apiVersion":"mcpserver.fn.crossmcp.io/v1","kind":"Workload"}`},
			want:   outcome{Fatal: `invalid function input: input is apiVersion "mcpserver.fn.crossmcp.io/v1", kind "Workload": function-mcp-server takes apiVersion "mcpserver.fn.crossmcp.io/v1beta1", kind "Workload"`},
		},
		"InputWithoutKind": {
			reason: "An input without apiVersion and kind is refused; only an absent input gets the defaults.",
			args:   args{base: shared, input: `{"configMode":"Flags"}`},
			want:   outcome{Fatal: `invalid function input: input is apiVersion "", kind "": function-mcp-server takes apiVersion "mcpserver.fn.crossmcp.io/v1beta1", kind "Workload"`},
		},
		"InboundOIDCRemoved": {
			reason: "Removing spec.oidc from an exchanging server is refused: the runner would exchange any bearer token. The running workload is kept as it was.",
			args:   args{base: shared, spec: func(s map[string]any) { delete(s, "oidc") }},
			want: outcome{
				Fatal: errNoInboundAuth,
				Conditions: map[string]string{
					TypeExternalAuthReady:   `TRUE/Available: ExternalAuthConfig "backend-api" is Ready (configHash 1111222233334444)`,
					TypeTokenExchangeActive: "FALSE/NoInboundAuthentication: " + errNoInboundAuth,
				},
			},
		},
		"InlineExchangeWithoutOIDC": {
			reason: "An inline token exchange without spec.oidc (the schema bypassed) is refused the same way.",
			args:   args{base: inline, spec: func(s map[string]any) { delete(s, "oidc") }},
			want: outcome{
				Fatal: errNoInboundAuth,
				Conditions: map[string]string{
					TypeExternalAuthReady:   `TRUE/Available: ExternalAuthConfig "github-external-auth" is Ready (configHash 1111222233334444)`,
					TypeTokenExchangeActive: "FALSE/NoInboundAuthentication: " + errNoInboundAuth,
				},
			},
		},
		"ConfigMissing": {
			reason: "A referenced config that is gone is a warning; the workload keeps the last good config.",
			args:   args{base: shared, found: func() []map[string]any { return nil }},
			want: outcome{
				Warnings: []string{"ConfigNotFound: " + notFound + keeps},
				Conditions: map[string]string{
					TypeExternalAuthReady:   "FALSE/ConfigNotFound: " + notFound + keeps,
					TypeTokenExchangeActive: active,
					TypeMCPServerReady:      waitingRunner,
				},
			},
		},
		"ConfigInOtherNamespace": {
			reason: "A config of the same name in another namespace is never used.",
			args: args{base: shared, found: func() []map[string]any {
				c := clone(t, shared.config)
				field(c, "metadata")["namespace"] = "team-b"
				return []map[string]any{c}
			}},
			want: outcome{
				Warnings: []string{"ConfigNotFound: " + notFound + keeps},
				Conditions: map[string]string{
					TypeExternalAuthReady:   "FALSE/ConfigNotFound: " + notFound + keeps,
					TypeTokenExchangeActive: active,
					TypeMCPServerReady:      waitingRunner,
				},
			},
		},
		"ConfigNotReady": {
			reason: "A config the provider reports not Ready is a warning with the provider's reason.",
			args: args{base: shared, config: func(c map[string]any) {
				cond := field(c, "status")["conditions"].([]any)[0].(map[string]any)
				cond["status"], cond["reason"], cond["message"] = "False", "SecretNotFound", `secret "idp" not found in namespace "team-a"`
			}},
			want: outcome{
				Warnings: []string{`ConfigNotReady: ExternalAuthConfig "backend-api" is not Ready (SecretNotFound: secret "idp" not found in namespace "team-a")` + keeps},
				Conditions: map[string]string{
					TypeExternalAuthReady:   `FALSE/ConfigNotReady: ExternalAuthConfig "backend-api" is not Ready (SecretNotFound: secret "idp" not found in namespace "team-a")` + keeps,
					TypeTokenExchangeActive: active,
					TypeMCPServerReady:      waitingRunner,
				},
			},
		},
		"ConfigNotYetObserved": {
			reason: "A changed config the provider has not observed yet is not used.",
			args:   args{base: shared, config: func(c map[string]any) { field(c, "metadata")["generation"] = 2 }},
			want: outcome{
				Warnings: []string{`ConfigNotReady: ExternalAuthConfig "backend-api": waiting for the provider to observe generation 2` + keeps},
				Conditions: map[string]string{
					TypeExternalAuthReady:   `FALSE/ConfigNotReady: ExternalAuthConfig "backend-api": waiting for the provider to observe generation 2` + keeps,
					TypeTokenExchangeActive: active,
					TypeMCPServerReady:      waitingRunner,
				},
			},
		},
		"ConfigWithoutHash": {
			reason: "A Ready config without a hash cannot roll the workload and is not used.",
			args:   args{base: shared, config: func(c map[string]any) { delete(field(c, "status", "atProvider"), "configHash") }},
			want: outcome{
				Warnings: []string{`ConfigNotReady: ExternalAuthConfig "backend-api" has no configHash yet` + keeps},
				Conditions: map[string]string{
					TypeExternalAuthReady:   `FALSE/ConfigNotReady: ExternalAuthConfig "backend-api" has no configHash yet` + keeps,
					TypeTokenExchangeActive: active,
					TypeMCPServerReady:      waitingRunner,
				},
			},
		},
		"ConfigTypeUnsupported": {
			reason: "A config of a type the runner cannot take from the function is reported, not rendered.",
			args: args{base: shared, config: func(c map[string]any) {
				fp := field(c, "spec", "forProvider")
				delete(fp, "tokenExchange")
				fp["type"] = "headerInjection"
				fp["headerInjection"] = map[string]any{"headerName": "X-Api-Key", "valueSecretRef": map[string]any{"name": "k", "key": "v"}}
			}},
			want: outcome{
				Warnings: []string{`ConfigUnsupported: ExternalAuthConfig "backend-api" is of type headerInjection: function-mcp-server renders tokenExchange and unauthenticated configs only` + keeps},
				Conditions: map[string]string{
					TypeExternalAuthReady:   `FALSE/ConfigUnsupported: ExternalAuthConfig "backend-api" is of type headerInjection: function-mcp-server renders tokenExchange and unauthenticated configs only` + keeps,
					TypeTokenExchangeActive: active,
					TypeMCPServerReady:      waitingRunner,
				},
			},
		},
		"ConfigWithoutConnectionSecret": {
			reason: "A config with a client secret but no connection secret gives the proxy no way to read it.",
			args:   args{base: shared, config: func(c map[string]any) { delete(field(c, "spec"), "writeConnectionSecretToRef") }},
			want: outcome{
				Warnings: []string{`ConfigInvalid: ExternalAuthConfig "backend-api" has a client secret but publishes no connection secret: set spec.writeConnectionSecretToRef so the proxy can read it` + keeps},
				Conditions: map[string]string{
					TypeExternalAuthReady:   `FALSE/ConfigInvalid: ExternalAuthConfig "backend-api" has a client secret but publishes no connection secret: set spec.writeConnectionSecretToRef so the proxy can read it` + keeps,
					TypeTokenExchangeActive: active,
					TypeMCPServerReady:      waitingRunner,
				},
			},
		},
		"ConfigBadSubjectTokenType": {
			reason: "A subject token type that slipped past the schema is reported, not rendered.",
			args:   args{base: shared, config: func(c map[string]any) { field(c, "spec", "forProvider", "tokenExchange")["subjectTokenType"] = "saml2" }},
			want: outcome{
				Warnings: []string{`ConfigInvalid: ExternalAuthConfig "backend-api": subject token type "saml2" is not supported: use access_token, id_token, jwt or a token type URN` + keeps},
				Conditions: map[string]string{
					TypeExternalAuthReady:   `FALSE/ConfigInvalid: ExternalAuthConfig "backend-api": subject token type "saml2" is not supported: use access_token, id_token, jwt or a token type URN` + keeps,
					TypeTokenExchangeActive: active,
					TypeMCPServerReady:      waitingRunner,
				},
			},
		},
		"ConfigMissingStatusLost": {
			reason: "With the config gone and the XR's status lost, the settings the workload runs with come from its observed objects: it keeps running as it was.",
			args: args{base: shared, found: func() []map[string]any { return nil }, status: func(s map[string]any) {
				delete(s, "externalAuth")
				delete(s, "externalAuthConfigHash")
			}},
			want: outcome{
				Warnings: []string{"ConfigNotFound: " + notFound + keeps},
				Conditions: map[string]string{
					TypeExternalAuthReady:   "FALSE/ConfigNotFound: " + notFound + keeps,
					TypeTokenExchangeActive: active,
					TypeMCPServerReady:      waitingRunner,
				},
			},
		},
		"InlineConfigNotReady": {
			reason: "A dedicated inline config that stops being Ready keeps the workload and the config itself as they are.",
			args: args{base: inline, config: func(c map[string]any) {
				cond := field(c, "status")["conditions"].([]any)[0].(map[string]any)
				cond["status"], cond["reason"], cond["message"] = "False", "CredentialsRejected", "token endpoint https://auth.example.com/token: The authorization server rejected the client credentials (HTTP 401, invalid_client)."
			}},
			unready: []string{render.NameExternalAuthConfig},
			want: outcome{
				Warnings: []string{`ConfigNotReady: ExternalAuthConfig "github-external-auth" is not Ready (CredentialsRejected: token endpoint https://auth.example.com/token: The authorization server rejected the client credentials (HTTP 401, invalid_client).)` + keepsInline},
				Conditions: map[string]string{
					TypeExternalAuthReady:   `FALSE/ConfigNotReady: ExternalAuthConfig "github-external-auth" is not Ready (CredentialsRejected: token endpoint https://auth.example.com/token: The authorization server rejected the client credentials (HTTP 401, invalid_client).)` + keepsInline,
					TypeTokenExchangeActive: active,
					TypeMCPServerReady:      waitingRunner,
				},
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			b := tc.args.base
			xr := clone(t, b.xr)
			if tc.args.spec != nil {
				tc.args.spec(field(xr, "spec"))
			}
			if tc.args.status != nil {
				tc.args.status(field(xr, "status"))
			}
			cfg := clone(t, b.config)
			if tc.args.config != nil {
				tc.args.config(cfg)
			}
			observed := map[string]*fnv1.Resource{}
			for n, o := range b.observed {
				observed[n] = o
			}
			rq := &fnv1.RunFunctionRequest{
				Observed: &fnv1.State{Composite: &fnv1.Resource{Resource: toStruct(t, xr)}, Resources: observed},
				Desired:  &fnv1.State{},
			}
			if tc.args.input != "" {
				rq.Input = s(tc.args.input)
			}
			if _, ok := observed[render.NameExternalAuthConfig]; ok {
				observed[render.NameExternalAuthConfig] = &fnv1.Resource{Resource: toStruct(t, cfg)}
			} else {
				found := []map[string]any{cfg}
				if tc.args.found != nil {
					found = tc.args.found()
				}
				items := &fnv1.Resources{}
				for _, o := range found {
					items.Items = append(items.Items, &fnv1.Resource{Resource: toStruct(t, o)})
				}
				rq.RequiredResources = map[string]*fnv1.Resources{RequiredConfig: items}
			}

			rsp, err := f.RunFunction(context.Background(), rq)
			if err != nil {
				t.Fatalf("RunFunction(...): %v", err)
			}
			got := outcome{Conditions: map[string]string{}}
			for _, r := range rsp.GetResults() {
				switch r.GetSeverity() {
				case fnv1.Severity_SEVERITY_FATAL:
					got.Fatal = r.GetMessage()
				case fnv1.Severity_SEVERITY_WARNING:
					got.Warnings = append(got.Warnings, r.GetReason()+": "+r.GetMessage())
				}
			}
			for _, c := range rsp.GetConditions() {
				got.Conditions[c.GetType()] = strings.TrimPrefix(c.GetStatus().String(), "STATUS_CONDITION_") + "/" + c.GetReason() + ": " + c.GetMessage()
			}
			want := tc.want
			if len(tc.fatalHas) > 0 && strings.HasPrefix(got.Fatal, want.Fatal) {
				rest := strings.TrimPrefix(got.Fatal, want.Fatal)
				for _, f := range tc.fatalHas {
					if !strings.Contains(rest, f) {
						t.Errorf("%s\nfatal message %q does not say %q", tc.reason, got.Fatal, f)
					}
				}
				got.Fatal = want.Fatal
			}
			if want.Conditions == nil {
				want.Conditions = noCondition
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s\nRunFunction(...): -want, +got:\n%s", tc.reason, diff)
			}

			// Nothing that runs may change.
			if want.Fatal != "" {
				if n := len(rsp.GetDesired().GetResources()); n != 0 {
					t.Errorf("%s\na fatal result comes with %d desired objects", tc.reason, n)
				}
				return
			}
			good := desiredState(b.desired)
			for _, n := range tc.unready {
				good[n].(map[string]any)["ready"] = fnv1.Ready_READY_FALSE.String()
			}
			if diff := cmp.Diff(good, desiredState(rsp.GetDesired().GetResources())); diff != "" {
				t.Errorf("%s\ndesired composed resources changed from the good render: -good, +got:\n%s", tc.reason, diff)
			}
			st, _ := rsp.GetDesired().GetComposite().GetResource().AsMap()["status"].(map[string]any)
			if diff := cmp.Diff(b.status, st); diff != "" {
				t.Errorf("%s\nXR status changed from the good render: -good, +got:\n%s", tc.reason, diff)
			}
		})
	}
}
