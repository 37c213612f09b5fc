package function

import (
	"context"
	"strings"
	"testing"

	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"

	"github.com/crossmcp/provider-mcp/internal/function/render"
)

// BenchmarkRunFunction measures one render of a typical XR: with a shared
// config, with an inline config, and in Flags mode.
func BenchmarkRunFunction(b *testing.B) {
	inlineCfg := strings.ReplaceAll(config("team-a"), "backend-api", "github-external-auth")
	cases := map[string]req{
		"SharedConfig": {xr: xrRef, required: map[string][]string{RequiredConfig: {config("team-a")}}},
		"InlineConfig": {xr: xrInline, observed: map[string]string{render.NameExternalAuthConfig: inlineCfg}},
		"FlagsMode": {xr: xrRef, required: map[string][]string{RequiredConfig: {config("team-a")}},
			input: `{"apiVersion":"mcpserver.fn.crossmcp.io/v1beta1","kind":"Workload","configMode":"Flags"}`},
	}
	fn := New(logging.NewNopLogger())
	for name, r := range cases {
		b.Run(name, func(b *testing.B) {
			rq := r.build()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := fn.RunFunction(context.Background(), rq); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
