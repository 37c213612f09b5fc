package function

import (
	"context"
	"strings"
	"testing"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/google/go-cmp/cmp"

	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"

	"github.com/crossmcp/provider-mcp/internal/function/render"
)

func TestClash(t *testing.T) {
	const (
		deployment = `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"plain","namespace":"team-a"%OWNER%}}`
		toolHive   = `,"ownerReferences":[{"apiVersion":"toolhive.stacklok.dev/v1beta1","kind":"MCPServer","name":"plain","uid":"th-uid","controller":true}]`
		ours       = `,"ownerReferences":[{"apiVersion":"platform.crossmcp.io/v1alpha1","kind":"MCPServer","name":"plain","uid":"xr-uid","controller":true}]`
		helm       = `,"ownerReferences":[{"apiVersion":"example.org/v1","kind":"Release","name":"plain","uid":"other","controller":true}]`
	)
	dep := func(owner string) string { return strings.Replace(deployment, "%OWNER%", owner, 1) }
	xr := strings.Replace(xrNoAuth, `"metadata":{`, `"metadata":{"uid":"xr-uid",`, 1)
	type want struct {
		asked    string // namespace/name of the Deployment asked for
		fatal    string // the start of the fatal result, "" when none
		rendered bool   // whether the workload was rendered
	}
	cases := map[string]struct {
		reason string
		req    req
		want   want
	}{
		"NoDeployment": {
			reason: "A Deployment that does not exist yet is asked for and is no clash.",
			req:    req{xr: xr, required: map[string][]string{RequiredDeployment: {}}},
			want:   want{asked: "team-a/plain", rendered: true},
		},
		"Ours": {
			reason: "The Deployment this XR controls is no clash.",
			req:    req{xr: xr, required: map[string][]string{RequiredDeployment: {dep(ours)}}},
			want:   want{asked: "team-a/plain", rendered: true},
		},
		"Uncontrolled": {
			reason: "A Deployment no controller owns is no clash: Crossplane composes it as it does any.",
			req:    req{xr: xr, required: map[string][]string{RequiredDeployment: {dep("")}}},
			want:   want{asked: "team-a/plain", rendered: true},
		},
		"ToolHiveMCPServer": {
			reason: "A ToolHive MCPServer of the same name owns the Deployment: refused, naming it, and nothing is rendered.",
			req:    req{xr: xr, required: map[string][]string{RequiredDeployment: {dep(toolHive)}}},
			want:   want{asked: "team-a/plain", fatal: `MCPServer refused: Deployment team-a/plain belongs to ToolHive's MCPServer "plain"`},
		},
		"OtherController": {
			reason: "Any other controller's Deployment is refused too.",
			req:    req{xr: xr, required: map[string][]string{RequiredDeployment: {dep(helm)}}},
			want:   want{asked: "team-a/plain", fatal: `MCPServer refused: Deployment team-a/plain is controlled by Release "plain", not by this MCPServer`},
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
			if sel := rsp.GetRequirements().GetResources()[RequiredDeployment]; sel != nil {
				g.asked = sel.GetNamespace() + "/" + sel.GetMatchName()
			}
			for _, r := range rsp.GetResults() {
				if r.GetSeverity() == fnv1.Severity_SEVERITY_FATAL && tc.want.fatal != "" && strings.HasPrefix(r.GetMessage(), tc.want.fatal) {
					g.fatal = tc.want.fatal
				} else if r.GetSeverity() == fnv1.Severity_SEVERITY_FATAL {
					g.fatal = r.GetMessage()
				}
			}
			_, g.rendered = rsp.GetDesired().GetResources()[render.NameDeployment]
			if diff := cmp.Diff(tc.want, g, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("%s\n-want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}
