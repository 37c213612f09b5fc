package function

import (
	"context"
	"strings"
	"testing"

	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"

	"github.com/crossmcp/provider-mcp/internal/function/render"
)

// BenchmarkRunFunction measures one render of a typical XR: with a shared
// config, with an inline config, and with labels and annotations from the
// input.
func BenchmarkRunFunction(b *testing.B) {
	inlineCfg := strings.ReplaceAll(config("team-a"), "backend-api", "github-external-auth")
	cases := map[string]req{
		"SharedConfig": {xr: xrRef, required: map[string][]string{RequiredConfig: {config("team-a")}}},
		"InlineConfig": {xr: xrInline, observed: map[string]string{render.NameExternalAuthConfig: inlineCfg}},
		"LabelledInput": {xr: xrRef, required: map[string][]string{RequiredConfig: {config("team-a")}},
			input: `{"apiVersion":"mcpserver.fn.crossmcp.io/v1beta1","kind":"Workload","labels":{"team":"a"},"annotations":{"note":"n"}}`},
	}
	fn := New(logging.NewNopLogger())
	for name, r := range cases {
		b.Run(name, func(b *testing.B) {
			rq := r.build()
			b.ReportAllocs()
			for b.Loop() {
				// The response shares the request's desired state
				// (response.To), so without a fresh one each call would
				// start from the previous call's output.
				rq.Desired = &fnv1.State{}
				if _, err := fn.RunFunction(context.Background(), rq); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
