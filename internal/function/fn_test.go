package function

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/crossplane/function-sdk-go/resource"

	"github.com/crossmcp/provider-mcp/internal/function/render"
)

const (
	xrRef = `{"apiVersion":"platform.crossmcp.io/v1alpha1","kind":"MCPServer","metadata":{"name":"github","namespace":"team-a"},
"spec":{"image":"ghcr.io/github/github-mcp-server:v1","oidc":{"issuer":"https://idp.example.com"},
"externalAuth":{"configRef":{"name":"backend-api"}},"crossplane":{"compositionRef":{"name":"x"}}}}`

	xrInline = `{"apiVersion":"platform.crossmcp.io/v1alpha1","kind":"MCPServer","metadata":{"name":"github","namespace":"team-a"},
"spec":{"image":"ghcr.io/github/github-mcp-server:v1","oidc":{"issuer":"https://idp.example.com"},
"externalAuth":{"inline":{"type":"tokenExchange","tokenExchange":{"tokenUrl":"https://auth.example.com/token","clientId":"mcp","clientSecretRef":{"name":"idp","key":"secret"},"audience":"backend"}}}}}`

	xrNoAuth = `{"apiVersion":"platform.crossmcp.io/v1alpha1","kind":"MCPServer","metadata":{"name":"plain","namespace":"team-a"},
"spec":{"image":"ghcr.io/example/plain:v1"}}`

	xrLegacy = `{"apiVersion":"platform.crossmcp.io/v1alpha1","kind":"XMCPServer","metadata":{"name":"github-x7k2p","labels":{"crossplane.io/claim-name":"github","crossplane.io/claim-namespace":"team-b"}},
"spec":{"image":"ghcr.io/github/github-mcp-server:v1","oidc":{"issuer":"https://idp.example.com"},
"externalAuth":{"configRef":{"name":"backend-api"}},
"claimRef":{"apiVersion":"platform.crossmcp.io/v1alpha1","kind":"MCPServerClaim","name":"github","namespace":"team-b"}}}`

	configReady = `{"apiVersion":"auth.mcp.crossmcp.io/v1alpha1","kind":"ExternalAuthConfig","metadata":{"name":"backend-api","namespace":"%NS%","generation":1},
"spec":{"forProvider":{"type":"tokenExchange","tokenExchange":{"tokenUrl":"https://auth.example.com/token","clientId":"mcp","clientSecretRef":{"name":"idp","key":"secret"},"audience":"backend","scopes":["read"]}},
"writeConnectionSecretToRef":{"name":"backend-api-conn"}},
"status":{"atProvider":{"configHash":"1111222233334444"},"conditions":[{"type":"Ready","status":"True","reason":"Available","observedGeneration":1,"lastTransitionTime":"2026-01-01T00:00:00Z"}]}}`

	lastGoodStatus = `,"status":{"externalAuth":{"configName":"backend-api","type":"tokenExchange","configHash":"aaaabbbbccccdddd","tokenUrl":"https://auth.example.com/token","clientId":"mcp","audience":"backend","clientSecretRef":{"name":"backend-api-conn","key":"client_secret"}}}}`
)

func s(j string) *structpb.Struct { return resource.MustStructJSON(j) }

type req struct {
	xr       string
	input    string
	observed map[string]string
	required map[string][]string
}

func (r req) build() *fnv1.RunFunctionRequest {
	rq := &fnv1.RunFunctionRequest{
		Observed: &fnv1.State{Composite: &fnv1.Resource{Resource: s(r.xr)}, Resources: map[string]*fnv1.Resource{}},
		Desired:  &fnv1.State{},
	}
	if r.input != "" {
		rq.Input = s(r.input)
	}
	for n, o := range r.observed {
		rq.Observed.Resources[n] = &fnv1.Resource{Resource: s(o)}
	}
	if r.required != nil {
		rq.RequiredResources = map[string]*fnv1.Resources{}
		for k, items := range r.required {
			rs := &fnv1.Resources{}
			for _, i := range items {
				rs.Items = append(rs.Items, &fnv1.Resource{Resource: s(i)})
			}
			rq.RequiredResources[k] = rs
		}
	}
	return rq
}

// got is what a test compares of a response.
type got struct {
	Fatal      string
	Warnings   []string
	Conditions map[string]string // type -> status/reason
	Resources  []string
	Required   string
	XRReady    fnv1.Ready
	Status     map[string]any
}

func summarize(rsp *fnv1.RunFunctionResponse) got {
	g := got{Conditions: map[string]string{}, XRReady: rsp.GetDesired().GetComposite().GetReady()}
	for _, r := range rsp.GetResults() {
		switch r.GetSeverity() {
		case fnv1.Severity_SEVERITY_FATAL:
			g.Fatal = r.GetMessage()
		case fnv1.Severity_SEVERITY_WARNING:
			g.Warnings = append(g.Warnings, r.GetReason())
		}
	}
	for _, c := range rsp.GetConditions() {
		g.Conditions[c.GetType()] = strings.TrimPrefix(c.GetStatus().String(), "STATUS_CONDITION_") + "/" + c.GetReason()
	}
	for n := range rsp.GetDesired().GetResources() {
		g.Resources = append(g.Resources, n)
	}
	slices.Sort(g.Resources)
	if sel, ok := rsp.GetRequirements().GetResources()[RequiredConfig]; ok {
		g.Required = sel.GetNamespace() + "/" + sel.GetMatchName()
	}
	if st, ok := rsp.GetDesired().GetComposite().GetResource().AsMap()["status"].(map[string]any); ok {
		g.Status = st
	}
	return g
}

func config(ns string) string { return strings.ReplaceAll(configReady, "%NS%", ns) }

var (
	workload = []string{render.NameDeployment, render.NameUsage, render.NameServerServiceAccount,
		render.NameProxyRunnerRoleBinding, render.NameProxyRunnerServiceAccount, render.NameRunConfig, render.NameService}
	rbacOnly = []string{render.NameServerServiceAccount, render.NameProxyRunnerRoleBinding,
		render.NameProxyRunnerServiceAccount, render.NameService}
)

func sorted(s ...[]string) []string {
	out := slices.Concat(s...)
	slices.Sort(out)
	return out
}

func TestRunFunction(t *testing.T) {
	// runningWaiting: the workload is rendered; the runner has not created
	// the MCP server's StatefulSet yet.
	runningWaiting := map[string]string{TypeExternalAuthReady: "TRUE/Available", TypeTokenExchangeActive: "TRUE/Active", TypeMCPServerReady: "FALSE/" + ReasonWaitingForRunner}
	readyStatus := map[string]any{
		"url":                    "http://mcp-github-proxy.team-a.svc.cluster.local:8080",
		"externalAuthConfigHash": "1111222233334444",
		"externalAuth": map[string]any{
			"configName": "backend-api", "type": "tokenExchange", "configHash": "1111222233334444",
			"tokenUrl": "https://auth.example.com/token", "clientId": "mcp", "audience": "backend", "scopes": []any{"read"},
			"subjectTokenType": "urn:ietf:params:oauth:token-type:access_token",
			"clientSecretRef":  map[string]any{"name": "backend-api-conn", "key": "client_secret"},
		},
	}
	cases := map[string]struct {
		reason string
		req    req
		want   got
	}{
		"NotYetFetched": {
			reason: "A referenced config is first asked for, by name and in the XR's namespace.",
			req:    req{xr: xrRef},
			want:   got{Required: "team-a/backend-api", Conditions: map[string]string{}},
		},
		"SharedConfigReady": {
			reason: "A Ready shared config renders the whole workload and reports hash, settings and URL.",
			req:    req{xr: xrRef, required: map[string][]string{RequiredConfig: {config("team-a")}}},
			want:   got{Required: "team-a/backend-api", Conditions: runningWaiting, Resources: sorted(workload), Status: readyStatus},
		},
		"SharedConfigMissing": {
			reason: "A missing config is a warning and a condition; without a last good config nothing that needs one is rendered and the XR is not ready.",
			req:    req{xr: xrRef, required: map[string][]string{RequiredConfig: {}}},
			want: got{
				Required: "team-a/backend-api", Warnings: []string{render.ReasonConfigNotFound},
				Conditions: map[string]string{TypeExternalAuthReady: "FALSE/ConfigNotFound", TypeTokenExchangeActive: "FALSE/NotConfigured"},
				Resources:  sorted(rbacOnly), XRReady: fnv1.Ready_READY_FALSE,
				Status: map[string]any{"url": "http://mcp-github-proxy.team-a.svc.cluster.local:8080"},
			},
		},
		"SharedConfigMissingStatusOnly": {
			reason: "The XR's status alone is no workload to keep: without one observed, nothing that needs a config is rendered (TestLastGood keeps a running one).",
			req:    req{xr: strings.TrimSuffix(xrRef, "}") + lastGoodStatus, required: map[string][]string{RequiredConfig: {}}},
			want: got{
				Required: "team-a/backend-api", Warnings: []string{render.ReasonConfigNotFound},
				Conditions: map[string]string{TypeExternalAuthReady: "FALSE/ConfigNotFound", TypeTokenExchangeActive: "FALSE/NotConfigured"},
				Resources:  sorted(rbacOnly), XRReady: fnv1.Ready_READY_FALSE,
				Status: map[string]any{"url": "http://mcp-github-proxy.team-a.svc.cluster.local:8080"},
			},
		},
		"SharedConfigMissingDeploymentExists": {
			reason: "With no config and no record of the last good one, an existing Deployment is kept by changing nothing.",
			req: req{xr: xrRef, required: map[string][]string{RequiredConfig: {}}, observed: map[string]string{
				render.NameDeployment: `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"github","namespace":"team-a"}}`,
			}},
			want: got{
				Required: "team-a/backend-api", Fatal: errKeep, Warnings: []string{render.ReasonConfigNotFound},
				Conditions: map[string]string{TypeExternalAuthReady: "FALSE/ConfigNotFound", TypeTokenExchangeActive: "FALSE/NotConfigured"},
			},
		},
		"SharedConfigNotReady": {
			reason: "A config that is not Ready is reported with its own reason.",
			req:    req{xr: xrRef, required: map[string][]string{RequiredConfig: {strings.Replace(config("team-a"), `"status":"True"`, `"status":"False"`, 1)}}},
			want: got{
				Required: "team-a/backend-api", Warnings: []string{render.ReasonConfigNotReady},
				Conditions: map[string]string{TypeExternalAuthReady: "FALSE/ConfigNotReady", TypeTokenExchangeActive: "FALSE/NotConfigured"},
				Resources:  sorted(rbacOnly), XRReady: fnv1.Ready_READY_FALSE,
				Status: map[string]any{"url": "http://mcp-github-proxy.team-a.svc.cluster.local:8080"},
			},
		},
		"WrongNamespaceIgnored": {
			reason: "A config Crossplane returned from another namespace is never used.",
			req:    req{xr: xrRef, required: map[string][]string{RequiredConfig: {config("team-b")}}},
			want: got{
				Required: "team-a/backend-api", Warnings: []string{render.ReasonConfigNotFound},
				Conditions: map[string]string{TypeExternalAuthReady: "FALSE/ConfigNotFound", TypeTokenExchangeActive: "FALSE/NotConfigured"},
				Resources:  sorted(rbacOnly), XRReady: fnv1.Ready_READY_FALSE,
				Status: map[string]any{"url": "http://mcp-github-proxy.team-a.svc.cluster.local:8080"},
			},
		},
		"InlineFirstPass": {
			reason: "An inline config is composed first; the workload waits for it to be Ready.",
			req:    req{xr: xrInline},
			want: got{
				Warnings:   []string{render.ReasonConfigNotReady},
				Conditions: map[string]string{TypeExternalAuthReady: "FALSE/ConfigNotReady", TypeTokenExchangeActive: "FALSE/NotConfigured"},
				Resources:  sorted(rbacOnly, []string{render.NameExternalAuthConfig}), XRReady: fnv1.Ready_READY_FALSE,
				Status: map[string]any{"url": "http://mcp-github-proxy.team-a.svc.cluster.local:8080"},
			},
		},
		"InlineReady": {
			reason: "Once the dedicated config is Ready the whole workload is rendered.",
			req: req{xr: xrInline, observed: map[string]string{
				render.NameExternalAuthConfig: strings.ReplaceAll(config("team-a"), "backend-api", "github-external-auth"),
			}},
			want: got{Conditions: runningWaiting, Resources: sorted(workload, []string{render.NameExternalAuthConfig}), Status: map[string]any{
				"url":                    "http://mcp-github-proxy.team-a.svc.cluster.local:8080",
				"externalAuthConfigHash": "1111222233334444",
				"externalAuth": map[string]any{
					"configName": "github-external-auth", "type": "tokenExchange", "configHash": "1111222233334444",
					"tokenUrl": "https://auth.example.com/token", "clientId": "mcp", "audience": "backend", "scopes": []any{"read"},
					"subjectTokenType": "urn:ietf:params:oauth:token-type:access_token",
					"clientSecretRef":  map[string]any{"name": "github-external-auth-conn", "key": "client_secret"},
				},
			}},
		},
		"NoExternalAuth": {
			reason: "A server without external auth is rendered without Usage or hash.",
			req:    req{xr: xrNoAuth, input: `{"apiVersion":"mcpserver.fn.crossmcp.io/v1beta1","kind":"Workload","configMode":"ConfigMap"}`},
			want: got{
				Conditions: map[string]string{TypeExternalAuthReady: "TRUE/NotConfigured", TypeTokenExchangeActive: "FALSE/NotConfigured", TypeMCPServerReady: "FALSE/" + ReasonWaitingForRunner},
				Resources:  []string{render.NameDeployment, render.NameServerServiceAccount, render.NameProxyRunnerRoleBinding, render.NameProxyRunnerServiceAccount, render.NameRunConfig, render.NameService},
				Status:     map[string]any{"url": "http://mcp-plain-proxy.team-a.svc.cluster.local:8080"},
			},
		},
		"NoInboundOIDC": {
			reason: "Token exchange without inbound OIDC is refused: the runner would exchange any bearer token a client sends. Nothing is rendered, so Crossplane changes nothing.",
			req:    req{xr: strings.Replace(xrRef, `"oidc":{"issuer":"https://idp.example.com"},`, "", 1), required: map[string][]string{RequiredConfig: {config("team-a")}}},
			want: got{
				Required: "team-a/backend-api", Fatal: errNoInboundAuth,
				Conditions: map[string]string{TypeExternalAuthReady: "TRUE/Available", TypeTokenExchangeActive: "FALSE/NoInboundAuthentication"},
			},
		},
		"LegacyClaim": {
			reason: "A legacy XR renders into its claim's namespace under the claim's name.",
			req:    req{xr: xrLegacy, required: map[string][]string{RequiredConfig: {config("team-b")}}},
			want: got{
				Required: "team-b/backend-api", Conditions: runningWaiting, Resources: sorted(workload),
				Status: func() map[string]any {
					st := map[string]any{}
					for k, v := range readyStatus {
						st[k] = v
					}
					st["url"] = "http://mcp-github-proxy.team-b.svc.cluster.local:8080"
					return st
				}(),
			},
		},
		"LegacyWithoutClaim": {
			reason: "A legacy XR made without a claim has no namespace to run in.",
			req:    req{xr: strings.Replace(strings.Replace(xrLegacy, `"claimRef"`, `"unused"`, 1), `"labels"`, `"unlabelled"`, 1)},
			want:   got{Fatal: "invalid MCPServer: XMCPServer \"github-x7k2p\" has no claim: create it through an MCPServerClaim, whose namespace the workload runs in, or name the namespace in the function input", Conditions: map[string]string{}},
		},
		"LegacyClaimRefForged": {
			reason: "Whoever creates the cluster-scoped XR sets its claimRef: one aimed at another namespace than Crossplane's claim labels is refused, so Crossplane's rights are never aimed at kube-system.",
			req:    req{xr: strings.Replace(xrLegacy, `"namespace":"team-b"}`, `"namespace":"kube-system"}`, 1)},
			want:   got{Fatal: "invalid MCPServer: XMCPServer \"github-x7k2p\": spec.claimRef names MCPServerClaim kube-system/github, but Crossplane's claim labels say team-b/github; only Crossplane writes both", Conditions: map[string]string{}},
		},
		"LegacyClaimRefWithoutLabels": {
			reason: "A claimRef without Crossplane's claim labels was not written by Crossplane.",
			req:    req{xr: strings.Replace(xrLegacy, `"labels"`, `"unlabelled"`, 1)},
			want:   got{Fatal: "invalid MCPServer: XMCPServer \"github-x7k2p\": spec.claimRef names MCPServerClaim team-b/github, but Crossplane's claim labels say /; only Crossplane writes both", Conditions: map[string]string{}},
		},
		"LegacyWithoutClaimInputNamespace": {
			reason: "A legacy XR made without a claim runs in the namespace the Composition's input names, under its own name.",
			req: req{
				xr:       strings.Replace(strings.Replace(strings.Replace(xrLegacy, `"claimRef"`, `"unused"`, 1), `"labels"`, `"unlabelled"`, 1), `"externalAuth":{"configRef":{"name":"backend-api"}},`, "", 1),
				input:    `{"apiVersion":"mcpserver.fn.crossmcp.io/v1beta1","kind":"Workload","namespace":"team-c"}`,
				required: map[string][]string{RequiredBackend: {}},
			},
			want: got{
				Conditions: map[string]string{TypeExternalAuthReady: "TRUE/NotConfigured", TypeTokenExchangeActive: "FALSE/NotConfigured", TypeMCPServerReady: "FALSE/" + ReasonWaitingForRunner},
				Resources:  []string{render.NameDeployment, render.NameServerServiceAccount, render.NameProxyRunnerRoleBinding, render.NameProxyRunnerServiceAccount, render.NameRunConfig, render.NameService},
				Status:     map[string]any{"url": "http://mcp-github-x7k2p-proxy.team-c.svc.cluster.local:8080"},
			},
		},
		"NoImage": {
			reason: "An XR without an image is refused before anything is rendered.",
			req:    req{xr: strings.Replace(xrNoAuth, `"image":"ghcr.io/example/plain:v1"`, `"args":["x"]`, 1)},
			want:   got{Fatal: "invalid MCPServer: spec.image is required: the MCP server's container image", Conditions: map[string]string{}},
		},
		"UnknownInputField": {
			reason: "An input field the function does not know is refused.",
			req:    req{xr: xrNoAuth, input: `{"apiVersion":"mcpserver.fn.crossmcp.io/v1beta1","kind":"Workload","runnerImag":"typo"}`},
			want:   got{Fatal: "invalid function input", Conditions: map[string]string{}},
		},
		"BadInputNamespace": {
			reason: "The input's namespace must be a namespace name.",
			req:    req{xr: xrNoAuth, input: `{"apiVersion":"mcpserver.fn.crossmcp.io/v1beta1","kind":"Workload","namespace":"Team_C"}`},
			want:   got{Fatal: `invalid function input: namespace "Team_C" is not a namespace name`, Conditions: map[string]string{}},
		},
		"BadConfigMode": {
			reason: "An unknown config mode is refused.",
			req:    req{xr: xrNoAuth, input: `{"apiVersion":"mcpserver.fn.crossmcp.io/v1beta1","kind":"Workload","configMode":"Env"}`},
			want:   got{Fatal: "invalid function input: configMode \"Env\" is not \"ConfigMap\", the only mode", Conditions: map[string]string{}},
		},
	}
	f := New(logging.NewNopLogger())
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			rsp, err := f.RunFunction(context.Background(), tc.req.build())
			if err != nil {
				t.Fatalf("RunFunction(...): %v", err)
			}
			g := summarize(rsp)
			if tc.want.Fatal != "" && strings.HasPrefix(g.Fatal, tc.want.Fatal) {
				g.Fatal = tc.want.Fatal
			}
			if diff := cmp.Diff(tc.want, g); diff != "" {
				t.Errorf("%s\nRunFunction(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

// TestReadiness: the Deployment counts when Available, a dedicated config
// when Ready, everything else once it exists.
func TestReadiness(t *testing.T) {
	observed := map[string]string{
		render.NameDeployment:                `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"github"},"status":{"conditions":[{"type":"Available","status":"True"}]}}`,
		render.NameService:                   `{"apiVersion":"v1","kind":"Service","metadata":{"name":"mcp-github-proxy"}}`,
		render.NameExternalAuthConfig:        strings.ReplaceAll(config("team-a"), "backend-api", "github-external-auth"),
		render.NameProxyRunnerServiceAccount: `{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"github-proxy-runner"}}`,
	}
	rsp, err := New(logging.NewNopLogger()).RunFunction(context.Background(), req{xr: xrInline, observed: observed}.build())
	if err != nil {
		t.Fatal(err)
	}
	gotReady := map[string]fnv1.Ready{}
	for n, r := range rsp.GetDesired().GetResources() {
		gotReady[n] = r.GetReady()
	}
	want := map[string]fnv1.Ready{}
	for _, n := range sorted(workload, []string{render.NameExternalAuthConfig}) {
		want[n] = fnv1.Ready_READY_FALSE
	}
	for n := range observed {
		want[n] = fnv1.Ready_READY_TRUE
	}
	if diff := cmp.Diff(want, gotReady); diff != "" {
		t.Errorf("readiness: -want, +got:\n%s", diff)
	}
}

// TestDeterministicResponse: the same request gives byte-identical desired
// state, so Crossplane never sees a change that is not one.
func TestDeterministicResponse(t *testing.T) {
	f := New(logging.NewNopLogger())
	r := req{xr: xrRef, required: map[string][]string{RequiredConfig: {config("team-a")}}}
	var first []byte
	for i := range 5 {
		rsp, _ := f.RunFunction(context.Background(), r.build())
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(rsp.GetDesired())
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = b
		} else if string(b) != string(first) {
			t.Fatal("identical requests rendered different desired state")
		}
	}
}
