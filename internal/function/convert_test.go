package function

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/structpb"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	authv1alpha1 "github.com/crossmcp/provider-mcp/apis/auth/v1alpha1"
	platform "github.com/crossmcp/provider-mcp/apis/platform/v1alpha1"
	"github.com/crossmcp/provider-mcp/internal/function/input/v1beta1"
	"github.com/crossmcp/provider-mcp/internal/function/render"
)

// viaUnstructured is how rendered objects used to be converted, and what the
// converter must still give: the apimachinery converter's map without
// status, null values and empty objects (also nested, not in lists), then
// structpb.NewStruct.
func viaUnstructured(o runtime.Object) (*structpb.Struct, error) {
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
	if err != nil {
		return nil, err
	}
	delete(u, "status")
	prune(u)
	return structpb.NewStruct(u)
}

func prune(m map[string]any) {
	for k, v := range m {
		switch vv := v.(type) {
		case nil:
			delete(m, k)
		case map[string]any:
			prune(vv)
			if len(vv) == 0 {
				delete(m, k)
			}
		case []any:
			for _, e := range vv {
				if em, ok := e.(map[string]any); ok {
					prune(em)
				}
			}
		}
	}
}

// edge has a field for each case the conversion treats specially.
type edge struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   edgeSpec `json:"spec"`
	Status edgeSpec `json:"status"`
}

func (e *edge) DeepCopyObject() runtime.Object { return e }

type edgeSpec struct {
	edgeInline `json:",inline"`

	Zero       int32                `json:"zero"`
	OmitEmpty  int32                `json:"omitEmpty,omitempty"`
	False      bool                 `json:"false"`
	Float      float64              `json:"float"`
	Uint       uint32               `json:"uint"`
	Text       string               `json:"text"`
	Skipped    string               `json:"-"`
	NilPtr     *string              `json:"nilPtr"`
	NilMap     map[string]string    `json:"nilMap"`
	EmptyMap   map[string]string    `json:"emptyMap"`
	Map        map[string]edgeLeaf  `json:"map"`
	NilSlice   []string             `json:"nilSlice"`
	EmptySlice []string             `json:"emptySlice"`
	Bytes      []byte               `json:"bytes"`
	Empty      struct{}             `json:"empty"`
	Nested     edgeLeaf             `json:"nested"`
	OmitZero   edgeLeaf             `json:"omitZero,omitzero"`
	List       []edgeLeaf           `json:"list"`
	PtrList    []*edgeLeaf          `json:"ptrList"`
	Quantity   resource.Quantity    `json:"quantity"`
	Time       metav1.Time          `json:"time"`
	ZeroTime   metav1.Time          `json:"zeroTime"`
	IntOrStr   intstr.IntOrString   `json:"intOrStr"`
	Raw        runtime.RawExtension `json:"raw"`
	Any        any                  `json:"any"`
}

type edgeInline struct {
	Inlined string `json:"inlined"`
}

type edgeLeaf struct {
	Leaf *edgeLeaf `json:"leaf,omitempty"`
	Set  string    `json:"set,omitempty"`
}

func TestConverter(t *testing.T) {
	full := &render.Server{Name: "full", Namespace: "team-a", Spec: platform.MCPServerSpec{
		Image: "ghcr.io/x/y:v1", Args: []string{"--a", "b"}, Transport: platform.TransportSSE, ProxyMode: platform.TransportSSE,
		ProxyPort: 9090, MCPPort: 3000, ServiceAccount: ptr.To("custom-sa"),
		Env:       []platform.EnvVar{{Name: "B", Value: "2"}, {Name: "A", Value: ""}},
		Secrets:   []platform.SecretEnv{{Name: "s1", Key: "k1", TargetEnvName: "T1"}, {Name: "s2", Key: "k2"}},
		Resources: &platform.ResourceRequirements{Limits: platform.ResourceList{CPU: "500m", Memory: "256Mi"}, Requests: platform.ResourceList{CPU: "100m"}},
		OIDC:      &platform.OIDCConfig{Issuer: "https://idp.example.com", Audience: "aud", JWKSURL: "https://idp.example.com/jwks", ClientID: "c"},
		ExternalAuth: &platform.ExternalAuth{Inline: &authv1alpha1.ExternalAuthConfigParameters{
			Type: authv1alpha1.TypeTokenExchange,
			TokenExchange: &authv1alpha1.TokenExchangeConfig{
				TokenURL: "https://auth.example.com/token", ClientID: "mcp", Audience: "backend", Scopes: []string{"read"},
				ClientSecretRef: &authv1alpha1.SecretKeyRef{Name: "idp", Key: "secret"},
				Verification:    &authv1alpha1.VerificationPolicy{Discovery: ptr.To(false)},
			},
		}},
	}}
	minimal := &render.Server{Name: "min", Namespace: "team-b", Spec: platform.MCPServerSpec{Image: "ghcr.io/x/min:v1"}}
	render.Defaults(&minimal.Spec)
	exchange := &platform.ExternalAuthStatus{
		ConfigName: "full-external-auth", Type: authv1alpha1.TypeTokenExchange, ConfigHash: "1111222233334444",
		TokenURL: "https://auth.example.com/token", ClientID: "mcp", Audience: "backend", Scopes: []string{"read", "write"},
		SubjectTokenType: "urn:ietf:params:oauth:token-type:id_token", ExternalTokenHeaderName: "X-Upstream",
		ClientSecretRef: &authv1alpha1.SecretKeyRef{Name: "full-external-auth", Key: "client_secret"},
	}
	unauthenticated := &platform.ExternalAuthStatus{ConfigName: "shared", Type: authv1alpha1.TypeUnauthenticated, ConfigHash: "aaaabbbbccccdddd"}
	configMap := &v1beta1.Workload{}
	configMap.Default()
	labelled := &v1beta1.Workload{Labels: map[string]string{"team": "a", "app": "override"}, Annotations: map[string]string{"note": ""}}
	labelled.Default()

	objs := map[string]runtime.Object{"InlineConfig": render.InlineConfig(full, labelled)}
	for name, s := range map[string]*render.Server{"Full": full, "Minimal": minimal} {
		for an, a := range map[string]*platform.ExternalAuthStatus{"NoAuth": nil, "Exchange": exchange, "Unauthenticated": unauthenticated} {
			for in, i := range map[string]*v1beta1.Workload{"Default": configMap, "Labelled": labelled} {
				for _, o := range render.Workload(s, a, i) {
					objs[name+"/"+an+"/"+in+"/"+o.Name] = o.Object
				}
			}
		}
	}
	objs["Edge"] = &edge{
		TypeMeta:   metav1.TypeMeta{APIVersion: "example.org/v1", Kind: "Edge"},
		ObjectMeta: metav1.ObjectMeta{Name: "edge", Labels: map[string]string{}},
		Spec: edgeSpec{
			edgeInline: edgeInline{Inlined: "yes"},
			Float:      1.5, Uint: 7, Skipped: "never",
			EmptyMap:   map[string]string{},
			Map:        map[string]edgeLeaf{"empty": {}, "set": {Set: "x"}, "deep": {Leaf: &edgeLeaf{}}},
			EmptySlice: []string{},
			Bytes:      []byte("bytes"),
			Nested:     edgeLeaf{Leaf: &edgeLeaf{Leaf: &edgeLeaf{}}},
			List:       []edgeLeaf{{}, {Set: "x"}, {Leaf: &edgeLeaf{}}},
			PtrList:    []*edgeLeaf{nil, {}, {Set: "y"}},
			Quantity:   resource.MustParse("1.5Gi"),
			Time:       metav1.Date(2026, 1, 2, 3, 4, 5, 0, metav1.Now().Location()),
			IntOrStr:   intstr.FromInt32(8080),
			Raw:        runtime.RawExtension{Raw: []byte(`{"a":null,"b":{},"c":[{},null,1],"d":{"e":{}}}`)},
			Any:        map[string]any{"n": nil, "l": []any{nil, map[string]any{}}, "s": "t"},
		},
		Status: edgeSpec{Text: "left out"},
	}

	for name, o := range objs {
		t.Run(name, func(t *testing.T) {
			want, err := viaUnstructured(o)
			if err != nil {
				t.Fatal(err)
			}
			got, err := newConverter().Struct(o)
			if err != nil {
				t.Fatalf("Struct(...): %v", err)
			}
			if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
				t.Errorf("Struct(...): -via unstructured, +got:\n%s", diff)
			}
		})
	}
}

// TestConverterReuse: one converter converts every object of a render.
func TestConverterReuse(t *testing.T) {
	s := &render.Server{Name: "github", Namespace: "team-a", Spec: platform.MCPServerSpec{Image: "ghcr.io/x/y:v1"}}
	render.Defaults(&s.Spec)
	in := &v1beta1.Workload{}
	in.Default()
	c := newConverter()
	for range 2 {
		for _, o := range render.Workload(s, nil, in) {
			want, err := viaUnstructured(o.Object)
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Struct(o.Object)
			if err != nil {
				t.Fatalf("%s: Struct(...): %v", o.Name, err)
			}
			if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
				t.Errorf("%s: Struct(...): -via unstructured, +got:\n%s", o.Name, diff)
			}
		}
	}
}

// TestConverterErrors: what structpb refuses is an error, not a Struct.
func TestConverterErrors(t *testing.T) {
	cases := map[string]struct {
		reason string
		o      runtime.Object
	}{
		"InvalidUTF8Value": {
			reason: "A string must be UTF-8.",
			o:      &edge{ObjectMeta: metav1.ObjectMeta{Name: "bad\xff"}},
		},
		"InvalidUTF8Key": {
			reason: "A key must be UTF-8.",
			o:      &edge{ObjectMeta: metav1.ObjectMeta{Name: "x", Labels: map[string]string{"bad\xff": "v"}}},
		},
		"BadRawExtension": {
			reason: "A json.Marshaler that fails is an error, not a panic.",
			o:      &edge{Spec: edgeSpec{Raw: runtime.RawExtension{Raw: []byte(`{"a":`)}}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := newConverter().Struct(tc.o); err == nil {
				t.Errorf("%s\nStruct(...): want an error, got none", tc.reason)
			}
		})
	}
}
