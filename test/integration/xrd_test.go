//go:build integration

package integration

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crossmcp/provider-mcp/test/wait"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	xapiv2 "github.com/crossplane/crossplane/apis/v2/apiextensions/v2"
)

// installXRDSchema serves the v2 XRD's schema from a plain CRD, as
// Crossplane would, so the real apiserver checks that the schema is
// structural, that its CEL rules compile, and what it admits.
func installXRDSchema(t *testing.T) {
	t.Helper()
	b, err := os.ReadFile("../../package/configuration/xrd-mcpserver.yaml")
	if err != nil {
		t.Fatal(err)
	}
	xrd := &xapiv2.CompositeResourceDefinition{}
	if err := yaml.UnmarshalStrict(b, xrd); err != nil {
		t.Fatal(err)
	}
	v := xrd.Spec.Versions[0]
	schema := &apiextensionsv1.JSONSchemaProps{}
	if err := yaml.Unmarshal(v.Schema.OpenAPIV3Schema.Raw, schema); err != nil {
		t.Fatal(err)
	}
	// Crossplane adds its own machinery under spec.crossplane.
	spec := schema.Properties["spec"]
	spec.Properties["crossplane"] = apiextensionsv1.JSONSchemaProps{Type: "object", XPreserveUnknownFields: ptrTo(true)}
	schema.Properties["spec"] = spec
	crd := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: xrd.Name},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: xrd.Spec.Group, Names: xrd.Spec.Names, Scope: apiextensionsv1.NamespaceScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: v.Name, Served: true, Storage: true,
				Schema:       &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: schema},
				Subresources: &apiextensionsv1.CustomResourceSubresources{Status: &apiextensionsv1.CustomResourceSubresourceStatus{}},
			}},
		},
	}
	ctx := context.Background()
	// Several tests serve it; the first one installs it.
	if err := kube.Create(ctx, crd); err != nil && !kerrors.IsAlreadyExists(err) {
		t.Fatalf("the apiserver refuses the MCPServer schema: %v", err)
	}
	wait.For(t, 30*time.Second, "MCPServer schema established", func() string {
		got := &apiextensionsv1.CustomResourceDefinition{}
		if err := kube.Get(ctx, client.ObjectKeyFromObject(crd), got); err != nil {
			return err.Error()
		}
		for _, c := range got.Status.Conditions {
			if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
				return ""
			}
		}
		return "not established"
	})
}

func ptrTo[T any](v T) *T { return &v }

// TestXRDSchema applies the namespaced examples and a table of broken XRs
// to the real apiserver serving the XRD's schema.
func TestXRDSchema(t *testing.T) {
	installXRDSchema(t)
	ctx := context.Background()
	ns := namespace(t)

	xrs, _ := filepath.Glob(filepath.Join(renderDir, "*", "xr.yaml"))
	for _, f := range xrs {
		u := &unstructured.Unstructured{}
		b, _ := os.ReadFile(f)
		if err := yaml.Unmarshal(b, &u.Object); err != nil {
			t.Fatal(err)
		}
		if u.GetKind() != "MCPServer" {
			continue
		}
		u.SetNamespace(ns)
		u.SetName("ok-" + filepath.Base(filepath.Dir(f)))
		if err := kube.Create(ctx, u, client.DryRunAll); err != nil {
			t.Errorf("%s is refused by its own schema: %v", f, err)
		}
	}

	base := func() map[string]any {
		return map[string]any{
			"image":        "ghcr.io/example/server:v1",
			"externalAuth": map[string]any{"configRef": map[string]any{"name": "backend-api"}},
		}
	}
	inline := map[string]any{"type": "tokenExchange", "tokenExchange": map[string]any{"tokenUrl": "https://auth.example.com/token", "audience": "api"}}
	cases := map[string]struct {
		reason string
		spec   func(map[string]any)
		want   string
	}{
		"NoImage": {reason: "image is required", spec: func(s map[string]any) { delete(s, "image") }, want: "spec.image: Required value"},
		"ImageIsFlag": {reason: "the image is an argument of the proxy runner: never a flag to it", spec: func(s map[string]any) {
			s["image"] = `--k8s-pod-patch={"spec":{"hostNetwork":true}}`
		}, want: "image must not start with '-'"},
		"BadTransport":  {reason: "transport is an enum", spec: func(s map[string]any) { s["transport"] = "grpc" }, want: "spec.transport: Unsupported value"},
		"PortTooHigh":   {reason: "ports end at 65535", spec: func(s map[string]any) { s["proxyPort"] = 70000 }, want: "spec.proxyPort: Invalid value"},
		"PortZero":      {reason: "ports start at 1", spec: func(s map[string]any) { s["mcpPort"] = 0 }, want: "spec.mcpPort: Invalid value"},
		"BothRefInline": {reason: "exactly one of configRef and inline", spec: func(s map[string]any) { s["externalAuth"].(map[string]any)["inline"] = inline }, want: "set exactly one of configRef and inline"},
		"NeitherAuth":   {reason: "an empty externalAuth is refused", spec: func(s map[string]any) { s["externalAuth"] = map[string]any{} }, want: "set exactly one of configRef and inline"},
		"CrossNamespace": {reason: "configRef has no namespace", spec: func(s map[string]any) {
			s["externalAuth"].(map[string]any)["configRef"].(map[string]any)["namespace"] = "other"
		}, want: "cross-namespace references are not allowed"},
		"InlineHTTP": {reason: "the inline block keeps the config's rules", spec: func(s map[string]any) {
			s["externalAuth"] = map[string]any{"inline": map[string]any{"type": "tokenExchange", "tokenExchange": map[string]any{"tokenUrl": "http://auth.example.com/token", "audience": "api"}}}
		}, want: "tokenUrl must be an https URL"},
		"InlineWrongBlock": {reason: "the inline type's block rule holds", spec: func(s map[string]any) {
			s["externalAuth"] = map[string]any{"inline": map[string]any{"type": "unauthenticated", "tokenExchange": map[string]any{"tokenUrl": "https://a.example.com", "audience": "api"}}}
		}, want: "tokenExchange must be set if and only if type is tokenExchange"},
		"InlineExchangeWithoutOIDC": {reason: "an inline token exchange needs inbound OIDC", spec: func(s map[string]any) {
			s["externalAuth"] = map[string]any{"inline": inline}
		}, want: "token exchange needs spec.oidc"},
		"HTTPIssuer": {reason: "the proxy refuses a plain HTTP issuer unless told", spec: func(s map[string]any) {
			s["oidc"] = map[string]any{"issuer": "http://idp.auth.svc:8080"}
		}, want: "issuer must be an https URL unless insecureAllowHTTP is true"},
		"BadCABundleKey": {reason: "a CA bundle key is a ConfigMap key", spec: func(s map[string]any) {
			s["oidc"] = map[string]any{"issuer": "https://idp.example.com", "caBundleRef": map[string]any{"configMapName": "ca", "key": "../x"}}
		}, want: "spec.oidc.caBundleRef.key"},
		"BadOIDCIssuer": {reason: "the issuer must be a URL", spec: func(s map[string]any) { s["oidc"] = map[string]any{"issuer": "not a url"} }, want: "issuer must be an absolute URL"},
		"BadEnvName":    {reason: "env names are identifiers", spec: func(s map[string]any) { s["env"] = []any{map[string]any{"name": "1X", "value": "v"}} }, want: "spec.env[0].name"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			spec := base()
			tc.spec(spec)
			u := &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": "platform.crossmcp.io/v1alpha1", "kind": "MCPServer",
				"metadata": map[string]any{"name": "bad", "namespace": ns}, "spec": spec,
			}}
			err := kube.Create(ctx, u, client.DryRunAll)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: want an error containing %q, got %v", tc.reason, tc.want, err)
			}
		})
	}
}
