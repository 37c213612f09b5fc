package toolhive

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/types/known/structpb"
	"sigs.k8s.io/yaml"

	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"

	authv1alpha1 "github.com/crossmcp/provider-mcp/apis/auth/v1alpha1"
	platform "github.com/crossmcp/provider-mcp/apis/platform/v1alpha1"
	"github.com/crossmcp/provider-mcp/internal/function"
	"github.com/crossmcp/provider-mcp/internal/function/render"
)

const repo = "../.."

// TestGoldens checks the RunConfig of every render golden: what `crossplane
// render` gives for each example.
func TestGoldens(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(repo, "render", "*", "rendered.yaml"))
	if len(files) == 0 {
		t.Fatal("no render/*/rendered.yaml")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, doc := range strings.Split(string(b), "\n---\n") {
			var o struct {
				Kind string            `json:"kind"`
				Data map[string]string `json:"data"`
			}
			if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if rc, ok := o.Data[render.RunConfigKey]; ok && o.Kind == "ConfigMap" {
				checkStart(t, f, decodeStrict(t, f, rc))
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s has %d RunConfigs, want 1", f, n)
		}
	}
}

// TestFuzzCorpus runs the function on its fuzz seeds (the committed corpus
// and the render stories it is seeded with) and checks every RunConfig it renders.
func TestFuzzCorpus(t *testing.T) {
	fn := function.New(logging.NewNopLogger())
	checked := 0
	for name, in := range corpus(t) {
		rq, ok := request(in)
		if !ok {
			continue
		}
		rsp, err := fn.RunFunction(context.Background(), rq)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if r, ok := rsp.GetDesired().GetResources()[render.NameRunConfig]; ok {
			cm := r.GetResource().AsMap()
			data, _ := cm["data"].(map[string]any)
			rc, _ := data[render.RunConfigKey].(string)
			checkStart(t, name, decodeStrict(t, name, rc))
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no seed of the corpus rendered a RunConfig")
	}
	t.Logf("%d RunConfigs from the fuzz corpus checked", checked)
}

// corpus is FuzzRunFunction's seeds: the render stories with a Workload input and
// the files under testdata/fuzz. Each is (xr, config, input) JSON.
func corpus(t *testing.T) map[string][3]string {
	t.Helper()
	out := map[string][3]string{}
	xrs, _ := filepath.Glob(filepath.Join(repo, "render", "*", "xr.yaml"))
	cfgs, _ := filepath.Glob(filepath.Join(repo, "render", "*", "required-resources.yaml"))
	for i, x := range xrs {
		out[x] = [3]string{yamlFile(t, x), yamlFile(t, cfgs[i%len(cfgs)]), `{"apiVersion":"mcpserver.fn.crossmcp.io/v1beta1","kind":"Workload"}`}
	}
	files, _ := filepath.Glob(filepath.Join(repo, "internal", "function", "testdata", "fuzz", "FuzzRunFunction", "*"))
	for _, f := range files {
		out[f] = seed(t, f)
	}
	return out
}

func yamlFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	j, err := yaml.YAMLToJSON(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(j)
}

// seed reads a `go test fuzz v1` file of three strings.
func seed(t *testing.T, path string) [3]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [3]string
	i := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "string(") || i == len(out) {
			continue
		}
		if out[i], err = strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(line, "string("), ")")); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		i++
	}
	if i != len(out) {
		t.Fatalf("%s: %d strings, want 3", path, i)
	}
	return out
}

// request builds what Crossplane would send; false for seeds that are not
// JSON objects, which Crossplane never sends.
func request(in [3]string) (*fnv1.RunFunctionRequest, bool) {
	var s [3]*structpb.Struct
	for i, j := range in {
		m := map[string]any{}
		if json.Unmarshal([]byte(j), &m) != nil {
			return nil, false
		}
		v, err := structpb.NewStruct(m)
		if err != nil {
			return nil, false
		}
		s[i] = v
	}
	return &fnv1.RunFunctionRequest{
		Observed:          &fnv1.State{Composite: &fnv1.Resource{Resource: s[0]}},
		Desired:           &fnv1.State{},
		Input:             s[2],
		RequiredResources: map[string]*fnv1.Resources{function.RequiredConfig: {Items: []*fnv1.Resource{{Resource: s[1]}}}},
	}, true
}

// TestRunConfigGenerated renders servers drawn from every setting's values
// (a fixed seed: the same servers every run) and holds each RunConfig to
// the runner's start requirements and ToolHive's builder.
func TestRunConfigGenerated(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 48))
	pick := func(vs ...string) string { return vs[r.IntN(len(vs))] }
	for i := range 300 {
		s := server(fmt.Sprintf("gen-%d", i), func(s *platform.MCPServerSpec) {
			s.Image = pick("ghcr.io/a/b:v1", "registry.example.com:5000/team/server@sha256:"+strings.Repeat("a", 64), "docker.io/library/mcp")
			s.Transport = pick(platform.TransportStdio, platform.TransportSSE, platform.TransportStreamableHTTP)
			s.ProxyMode = pick(platform.TransportSSE, platform.TransportStreamableHTTP)
			s.ProxyPort = int32(1 + r.IntN(65535))
			if r.IntN(2) == 0 {
				s.MCPPort = int32(1 + r.IntN(65535))
			}
			for range r.IntN(3) {
				s.Args = append(s.Args, pick("--flag", "value with spaces", "--k8s-pod-patch={}", "-"))
			}
			for j := range r.IntN(3) {
				s.Env = append(s.Env, platform.EnvVar{Name: pick("LOG_LEVEL", "MCP_PORT", "MCP_TRANSPORT", "X") + strconv.Itoa(j%2), Value: pick("", "v", "a=b")})
			}
			s.OIDC = &platform.OIDCConfig{Issuer: "https://idp.example.com/" + pick("", "realms/a")}
			if r.IntN(2) == 0 {
				s.OIDC.Audience, s.OIDC.ClientID = "mcp", "proxy"
			}
			if r.IntN(2) == 0 {
				s.OIDC.JWKSURL, s.OIDC.IntrospectionURL = "https://idp.example.com/jwks", "https://idp.example.com/introspect"
			}
			if r.IntN(2) == 0 {
				s.OIDC.CABundleRef = &platform.CABundleRef{ConfigMapName: "ca", Key: pick("", "ca.crt", "bundle.pem")}
				s.OIDC.JWKSAllowPrivateIP, s.OIDC.InsecureAllowHTTP = r.IntN(2) == 0, r.IntN(2) == 0
			}
			if r.IntN(2) == 0 {
				s.OIDC.ResourceURL, s.OIDC.Scopes = "https://mcp.example.com/", []string{pick("openid", "mcp")}
			}
		})
		var a *platform.ExternalAuthStatus
		if r.IntN(3) > 0 {
			a = exchange(func(a *platform.ExternalAuthStatus) {
				a.SubjectTokenType = pick("urn:ietf:params:oauth:token-type:access_token", "urn:ietf:params:oauth:token-type:id_token", "urn:ietf:params:oauth:token-type:jwt")
				a.ExternalTokenHeaderName = pick("", "X-Upstream-Token")
				for range r.IntN(3) {
					a.Scopes = append(a.Scopes, pick("read", "write", "backend:admin"))
				}
				if r.IntN(4) == 0 {
					a.ClientID, a.ClientSecretRef = "", nil
				}
				a.Type = authv1alpha1.TypeTokenExchange
			})
		}
		name := s.Name
		rc := rendered(t, s, a)
		checkStart(t, name, decodeStrict(t, name, rc))
		if diff := diffRunConfigs(t, s, a, rc); diff != "" {
			t.Errorf("%s (%+v, %+v): our RunConfig and ToolHive's builder's differ: -toolhive, +ours:\n%s", name, s.Spec, a, diff)
		}
	}
}
