package convert

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	platform "github.com/crossmcp/provider-mcp/apis/platform/v1alpha1"
)

// Why a ToolHive MCPServer field is not carried over, by spec field.
var notCarried = map[string]string{
	"replicas":          "provider-mcp runs one proxy and one server",
	"backendReplicas":   "provider-mcp runs one proxy and one server",
	"sessionAffinity":   "provider-mcp runs one proxy and one server",
	"sessionStorage":    "provider-mcp runs one proxy and one server",
	"volumes":           "a tenant could use it to gain rights the Composition does not give",
	"podTemplateSpec":   "a tenant could use it to gain rights the Composition does not give",
	"resourceOverrides": "a tenant could use it to gain rights the Composition does not give",
	"permissionProfile": "a tenant could use it to gain rights the Composition does not give",
}

func whyNot(path string) string {
	if why, ok := notCarried[lastKey(path)]; ok {
		return why
	}
	return "provider-mcp does not support it"
}

func lastKey(path string) string {
	for i := len(path) - 1; i >= 0; i-- {
		if path[i] == '.' {
			return path[i+1:]
		}
	}
	return path
}

// mcpServer converts a ToolHive MCPServer; its oidcConfigRef is read from the
// MCPOIDCConfigs of the input.
func mcpServer(o *unstructured.Unstructured, r *reader, oidc map[string]*unstructured.Unstructured) *platform.MCPServer {
	s := &platform.MCPServer{}
	s.TypeMeta, s.ObjectMeta = meta(o, schema.GroupVersion{Group: platform.Group, Version: platform.Version}, platform.MCPServerKind)
	spec := r.open("spec", specOf(o, r))
	p := &s.Spec
	p.Image = spec.str("image")
	if p.Image == "" {
		spec.fail("image", "is required")
	}
	p.Transport = spec.str("transport")
	p.ProxyMode = spec.str("proxyMode")
	p.ProxyPort = spec.int32("proxyPort")
	p.MCPPort = spec.int32("mcpPort")
	p.Args = spec.strings("args")
	for _, e := range spec.list("env") {
		p.Env = append(p.Env, platform.EnvVar{Name: e.str("name"), Value: e.str("value")})
	}
	for _, e := range spec.list("secrets") {
		p.Secrets = append(p.Secrets, platform.SecretEnv{Name: e.str("name"), Key: e.str("key"), TargetEnvName: e.str("targetEnvName")})
	}
	if len(p.Secrets) > 0 {
		r.notes = append(r.notes, "spec.secrets: the Composition's policy.secrets must name these Secrets, or the MCPServer is refused")
	}
	p.Resources = resources(spec.object("resources"))
	if sa := spec.str("serviceAccount"); sa != "" {
		p.ServiceAccount = &sa
		r.notes = append(r.notes, "spec.serviceAccount: the Composition's policy.serviceAccounts must name "+sa+", or the MCPServer is refused")
	}
	if ref := spec.object("oidcConfigRef"); ref != nil {
		p.OIDC = oidcOf(ref, o.GetNamespace(), oidc)
	}
	if ref := spec.object("externalAuthConfigRef"); ref != nil {
		p.ExternalAuth = &platform.ExternalAuth{ConfigRef: &platform.ConfigRef{Name: ref.str("name")}}
		if p.OIDC == nil {
			spec.fail("externalAuthConfigRef", "token exchange needs inbound OIDC, and this MCPServer has no oidcConfigRef: add one, and its MCPOIDCConfig to the input: without it the proxy would exchange any bearer token")
		}
	}
	return s
}

func resources(f *fields) *platform.ResourceRequirements {
	if f == nil {
		return nil
	}
	list := func(key string) platform.ResourceList {
		l := f.object(key)
		if l == nil {
			return platform.ResourceList{}
		}
		return platform.ResourceList{CPU: l.str("cpu"), Memory: l.str("memory")}
	}
	return &platform.ResourceRequirements{Limits: list("limits"), Requests: list("requests")}
}

// oidcOf is the MCPServer's inbound OIDC: the referenced MCPOIDCConfig's
// inline provider plus the reference's audience, scopes and resource URL.
func oidcOf(ref *fields, ns string, configs map[string]*unstructured.Unstructured) *platform.OIDCConfig {
	name := ref.str("name")
	c := &platform.OIDCConfig{Audience: ref.str("audience"), Scopes: ref.strings("scopes"), ResourceURL: ref.str("resourceUrl")}
	src, ok := configs[ns+"/"+name]
	if !ok {
		ref.fail("name", "MCPOIDCConfig %q is not in the input: convert it together with this MCPServer", name)
		return nil
	}
	spec := ref.r.open("MCPOIDCConfig "+name+" spec", specOf(src, ref.r))
	if t := spec.str("type"); t != "inline" {
		spec.fail("type", "%q is not supported: provider-mcp takes an inline issuer (type inline)", t)
		return nil
	}
	in := required(spec, "inline")
	if in == nil {
		return nil
	}
	c.Issuer = in.str("issuer")
	c.JWKSURL = in.str("jwksUrl")
	c.IntrospectionURL = in.str("introspectionUrl")
	c.ClientID = in.str("clientId")
	c.JWKSAllowPrivateIP = in.boolean("jwksAllowPrivateIP")
	c.InsecureAllowHTTP = in.boolean("insecureAllowHTTP")
	if ca := in.object("caBundleRef"); ca != nil {
		if cm := required(ca, "configMapRef"); cm != nil {
			c.CABundleRef = &platform.CABundleRef{ConfigMapName: cm.str("name"), Key: cm.str("key")}
		}
	}
	return c
}
