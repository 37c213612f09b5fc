package function

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"

	"github.com/crossmcp/provider-mcp/internal/function/render"
)

// FuzzRunFunction feeds arbitrary XRs, inputs and configs to the function,
// seeded with the render stories. Whatever comes in, it must not panic, and when it
// renders, every object must have a kind and a valid name, and the RunConfig
// must be JSON without a client secret.
func FuzzRunFunction(f *testing.F) {
	xrs, _ := filepath.Glob("../../render/*/xr.yaml")
	cfgs, _ := filepath.Glob("../../render/*/required-resources.yaml")
	for i, x := range xrs {
		cfg := cfgs[i%len(cfgs)]
		f.Add(yamlToJSON(f, x), yamlToJSON(f, cfg), `{"apiVersion":"mcpserver.fn.crossmcp.io/v1beta1","kind":"Workload"}`)
		f.Add(yamlToJSON(f, x), yamlToJSON(f, cfg), `{"apiVersion":"mcpserver.fn.crossmcp.io/v1beta1","kind":"Workload","configMode":"ConfigMap","labels":{"a":"b"}}`)
	}
	fn := New(logging.NewNopLogger())
	f.Fuzz(func(t *testing.T, xr, cfg, in string) {
		r := req{xr: xr, input: in, required: map[string][]string{RequiredConfig: {cfg}}}
		rq, ok := buildLenient(r)
		if !ok {
			return
		}
		rsp, err := fn.RunFunction(context.Background(), rq)
		if err != nil {
			t.Fatalf("RunFunction returned an error instead of a result: %v", err)
		}
		for _, res := range rsp.GetResults() {
			if res.GetSeverity() == fnv1.Severity_SEVERITY_FATAL {
				return
			}
		}
		for name, r := range rsp.GetDesired().GetResources() {
			m := r.GetResource().AsMap()
			meta, _ := m["metadata"].(map[string]any)
			n, _ := meta["name"].(string)
			if m["apiVersion"] == nil || m["kind"] == nil {
				t.Errorf("%s has no apiVersion or kind", name)
			}
			if errs := validation.IsDNS1123Subdomain(n); len(errs) > 0 {
				t.Errorf("%s has an invalid name %q: %v", name, n, errs)
			}
			if name == render.NameService {
				if errs := validation.IsDNS1035Label(n); len(errs) > 0 {
					t.Errorf("service name %q is not a DNS label: %v", n, errs)
				}
			}
			if name == render.NameRunConfig {
				data, _ := m["data"].(map[string]any)
				rc, _ := data[render.RunConfigKey].(string)
				var v map[string]any
				if err := json.Unmarshal([]byte(rc), &v); err != nil {
					t.Errorf("runconfig.json is not JSON: %v", err)
				}
				if strings.Contains(rc, "client_secret") {
					t.Error("runconfig.json has a client_secret")
				}
			}
		}
	})
}

func yamlToJSON(f *testing.F, path string) string {
	f.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	j, err := yaml.YAMLToJSON(b)
	if err != nil {
		f.Fatal(err)
	}
	return string(j)
}

// buildLenient builds a request from fuzzed JSON, skipping inputs that are
// not JSON objects (Crossplane never sends those).
func buildLenient(r req) (rq *fnv1.RunFunctionRequest, ok bool) {
	for _, j := range []string{r.xr, r.input, r.required[RequiredConfig][0]} {
		var m map[string]any
		if json.Unmarshal([]byte(j), &m) != nil {
			return nil, false
		}
	}
	defer func() {
		// structpb refuses values JSON allows (e.g. invalid UTF-8).
		if recover() != nil {
			rq, ok = nil, false
		}
	}()
	return r.build(), true
}
