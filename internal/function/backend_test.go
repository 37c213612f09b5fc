package function

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"

	"github.com/crossmcp/provider-mcp/internal/function/render"
)

// TestBackend: the StatefulSet the proxy runner creates is asked for, then
// composed by identity only, so that it is garbage collected with the XR;
// the XR is Ready only once it is.
func TestBackend(t *testing.T) {
	const (
		sts       = `{"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"%NAME%","namespace":"%NS%","generation":2%OWNER%},"spec":{"replicas":1},"status":{"observedGeneration":2,"readyReplicas":%READY%}}`
		xrUID     = `"uid":"xr-uid",`
		ownedByXR = `,"ownerReferences":[{"apiVersion":"platform.crossmcp.io/v1alpha1","kind":"MCPServer","name":"github","uid":"xr-uid","controller":true}]`
		foreign   = `,"ownerReferences":[{"apiVersion":"toolhive.stacklok.dev/v1alpha1","kind":"MCPServer","name":"github","uid":"other","controller":true}]`
		identity  = `{"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"%NAME%","namespace":"%NS%"}}`
	)
	statefulSet := func(ns, name, owner, ready string) string {
		return strings.NewReplacer("%NAME%", name, "%NS%", ns, "%OWNER%", owner, "%READY%", ready).Replace(sts)
	}
	xr := strings.Replace(xrNoAuth, `"metadata":{`, `"metadata":{`+xrUID, 1)
	// up is everything else the XR composes, observed ready.
	up := map[string]string{render.NameDeployment: `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"plain"},"status":{"conditions":[{"type":"Available","status":"True"}]}}`}
	for _, n := range []string{render.NameServerServiceAccount, render.NameProxyRunnerRoleBinding, render.NameProxyRunnerServiceAccount, render.NameRunConfig, render.NameService} {
		up[n] = `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"any"}}`
	}
	legacy := strings.Replace(xrLegacy, `"metadata":{`, `"metadata":{`+xrUID, 1)
	type want struct {
		asked     string // namespace/name of the StatefulSet asked for
		composed  string // the desired composed StatefulSet, "" when none
		ready     fnv1.Ready
		xrReady   fnv1.Ready
		condition string // MCPServerReady's status/reason
		warning   string
	}
	cases := map[string]struct {
		reason string
		req    req
		want   want
	}{
		"NotCreatedYet": {
			reason: "Before the runner created it, it is asked for, and the XR is held not Ready although all else is.",
			req:    req{xr: xr, observed: up, required: map[string][]string{RequiredBackend: {}}},
			want:   want{asked: "team-a/plain", xrReady: fnv1.Ready_READY_FALSE, condition: "FALSE/" + ReasonWaitingForRunner},
		},
		"NotCreatedYetOthersUnready": {
			reason: "While other resources are not ready either, Crossplane's own Ready condition names them; the XR's readiness is left to it.",
			req:    req{xr: xr, required: map[string][]string{RequiredBackend: {}}},
			want:   want{asked: "team-a/plain", xrReady: fnv1.Ready_READY_UNSPECIFIED, condition: "FALSE/" + ReasonWaitingForRunner},
		},
		"NotReady": {
			reason: "Once created it is composed by identity only; not ready yet, which Crossplane sees on the composed resource.",
			req:    req{xr: xr, observed: up, required: map[string][]string{RequiredBackend: {statefulSet("team-a", "plain", "", "0")}}},
			want: want{
				asked: "team-a/plain", composed: strings.NewReplacer("%NAME%", "plain", "%NS%", "team-a").Replace(identity),
				ready: fnv1.Ready_READY_FALSE, xrReady: fnv1.Ready_READY_UNSPECIFIED, condition: "FALSE/" + ReasonStatefulSetNotReady,
			},
		},
		"SpecNotObservedYet": {
			reason: "Ready replicas of an older spec do not make it ready.",
			req:    req{xr: xr, observed: up, required: map[string][]string{RequiredBackend: {strings.Replace(statefulSet("team-a", "plain", "", "1"), `"observedGeneration":2`, `"observedGeneration":1`, 1)}}},
			want: want{
				asked: "team-a/plain", composed: strings.NewReplacer("%NAME%", "plain", "%NS%", "team-a").Replace(identity),
				ready: fnv1.Ready_READY_FALSE, xrReady: fnv1.Ready_READY_UNSPECIFIED, condition: "FALSE/" + ReasonStatefulSetNotReady,
			},
		},
		"Ready": {
			reason: "A ready StatefulSet is ready, and leaves the XR's readiness to Crossplane.",
			req:    req{xr: xr, observed: up, required: map[string][]string{RequiredBackend: {statefulSet("team-a", "plain", "", "1")}}},
			want: want{
				asked: "team-a/plain", composed: strings.NewReplacer("%NAME%", "plain", "%NS%", "team-a").Replace(identity),
				ready: fnv1.Ready_READY_TRUE, xrReady: fnv1.Ready_READY_UNSPECIFIED, condition: "TRUE/" + ReasonAvailable,
			},
		},
		"AdoptedAlready": {
			reason: "One the XR controls already stays composed.",
			req:    req{xr: xr, required: map[string][]string{RequiredBackend: {statefulSet("team-a", "plain", ownedByXR, "1")}}},
			want: want{
				asked: "team-a/plain", composed: strings.NewReplacer("%NAME%", "plain", "%NS%", "team-a").Replace(identity),
				ready: fnv1.Ready_READY_TRUE, xrReady: fnv1.Ready_READY_UNSPECIFIED, condition: "TRUE/" + ReasonAvailable,
			},
		},
		"ComposedButNotReturned": {
			reason: "One composed already stays composed when Crossplane returns no answer for it, so it is never garbage collected by mistake.",
			req: req{xr: xr, observed: map[string]string{
				RequiredBackend: statefulSet("team-a", "plain", ownedByXR, "1"),
			}},
			want: want{
				asked: "team-a/plain", composed: strings.NewReplacer("%NAME%", "plain", "%NS%", "team-a").Replace(identity),
				ready: fnv1.Ready_READY_TRUE, xrReady: fnv1.Ready_READY_UNSPECIFIED, condition: "TRUE/" + ReasonAvailable,
			},
		},
		"OtherController": {
			reason: "One another controller owns is left alone, with a warning, and the XR is not Ready.",
			req:    req{xr: xr, observed: up, required: map[string][]string{RequiredBackend: {statefulSet("team-a", "plain", foreign, "1")}}},
			want: want{
				asked: "team-a/plain", xrReady: fnv1.Ready_READY_FALSE, condition: "FALSE/" + ReasonControlledElsewhere,
				warning: `StatefulSet "plain" is controlled by MCPServer "github", not by this MCPServer`,
			},
		},
		"OtherNamespaceIgnored": {
			reason: "A StatefulSet Crossplane returned from another namespace is never adopted.",
			req:    req{xr: xr, observed: up, required: map[string][]string{RequiredBackend: {statefulSet("team-b", "plain", "", "1")}}},
			want:   want{asked: "team-a/plain", xrReady: fnv1.Ready_READY_FALSE, condition: "FALSE/" + ReasonWaitingForRunner},
		},
		"LegacyClaim": {
			reason: "A legacy XR's runner creates it under the claim's name, in the claim's namespace.",
			req: req{xr: legacy, required: map[string][]string{
				RequiredConfig:  {config("team-b")},
				RequiredBackend: {statefulSet("team-b", "github", "", "1")},
			}},
			want: want{
				asked: "team-b/github", composed: strings.NewReplacer("%NAME%", "github", "%NS%", "team-b").Replace(identity),
				ready: fnv1.Ready_READY_TRUE, xrReady: fnv1.Ready_READY_UNSPECIFIED, condition: "TRUE/" + ReasonAvailable,
			},
		},
		"AskedWithTheConfig": {
			reason: "It is asked for in the same round as a referenced config.",
			req:    req{xr: xrRef},
			want:   want{asked: "team-a/github"},
		},
	}
	f := New(logging.NewNopLogger())
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			rsp, err := f.RunFunction(context.Background(), tc.req.build())
			if err != nil {
				t.Fatal(err)
			}
			var g want
			if sel := rsp.GetRequirements().GetResources()[RequiredBackend]; sel != nil {
				g.asked = sel.GetNamespace() + "/" + sel.GetMatchName()
			}
			if r, ok := rsp.GetDesired().GetResources()[RequiredBackend]; ok {
				b, err := r.GetResource().MarshalJSON()
				if err != nil {
					t.Fatal(err)
				}
				g.composed, g.ready = string(b), r.GetReady()
			}
			g.xrReady = rsp.GetDesired().GetComposite().GetReady()
			for _, c := range rsp.GetConditions() {
				if c.GetType() == TypeMCPServerReady {
					g.condition = strings.TrimPrefix(c.GetStatus().String(), "STATUS_CONDITION_") + "/" + c.GetReason()
				}
			}
			for _, r := range rsp.GetResults() {
				if r.GetSeverity() == fnv1.Severity_SEVERITY_WARNING && strings.HasPrefix(r.GetMessage(), tc.want.warning) {
					g.warning = tc.want.warning
				}
			}
			w := tc.want
			w.composed, g.composed = canonical(t, w.composed), canonical(t, g.composed)
			if diff := cmp.Diff(w, g, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("%s\n-want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

// canonical is JSON j with its keys sorted and no spaces; "" stays "".
func canonical(t *testing.T, j string) string {
	t.Helper()
	if j == "" {
		return ""
	}
	var v any
	if err := json.Unmarshal([]byte(j), &v); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
