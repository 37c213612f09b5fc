package convert

import (
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	authv1alpha1 "github.com/crossmcp/provider-mcp/apis/auth/v1alpha1"
)

// ConnectionSecretSuffix names a converted config's connection secret,
// <config>-connection: an MCPServer using the config needs one.
const ConnectionSecretSuffix = "-connection"

// externalAuthConfig is spec copied into spec.forProvider: the two are field
// for field the same for the types we support. ToolHive's older snake_case
// tokenExchange fields (token_url, client_secret_ref, scope, …) are read too.
func externalAuthConfig(o *unstructured.Unstructured, r *reader) *authv1alpha1.ExternalAuthConfig {
	cfg := &authv1alpha1.ExternalAuthConfig{}
	cfg.TypeMeta, cfg.ObjectMeta = meta(o, authv1alpha1.SchemeGroupVersion, authv1alpha1.ExternalAuthConfigKind)
	cfg.Spec.WriteConnectionSecretToReference = &xpv2.LocalSecretReference{Name: o.GetName() + ConnectionSecretSuffix}
	spec := r.open("spec", specOf(o, r))
	p := &cfg.Spec.ForProvider
	p.Type = authv1alpha1.ExternalAuthType(spec.str("type"))
	switch p.Type {
	case authv1alpha1.TypeTokenExchange:
		if te := required(spec, "tokenExchange"); te != nil {
			p.TokenExchange = tokenExchange(te)
		}
	case authv1alpha1.TypeHeaderInjection:
		if hi := required(spec, "headerInjection"); hi != nil {
			p.HeaderInjection = &authv1alpha1.HeaderInjectionConfig{HeaderName: hi.str("headerName"), ValueSecretRef: secretRef(hi, "valueSecretRef")}
		}
	case authv1alpha1.TypeBearerToken:
		if bt := required(spec, "bearerToken"); bt != nil {
			p.BearerToken = &authv1alpha1.BearerTokenConfig{TokenSecretRef: secretRef(bt, "tokenSecretRef")}
		}
	case authv1alpha1.TypeUnauthenticated:
	default:
		spec.fail("type", "%q has no counterpart in provider-mcp, which supports tokenExchange, headerInjection, bearerToken and unauthenticated", p.Type)
	}
	return cfg
}

func tokenExchange(te *fields) *authv1alpha1.TokenExchangeConfig {
	c := &authv1alpha1.TokenExchangeConfig{
		TokenURL:                te.str("tokenUrl", "token_url"),
		ClientID:                te.str("clientId", "client_id"),
		Audience:                te.str("audience"),
		Scopes:                  te.strings("scopes", "scope"),
		SubjectTokenType:        te.str("subjectTokenType", "subject_token_type"),
		ExternalTokenHeaderName: te.str("externalTokenHeaderName", "external_token_header_name"),
		SubjectProviderName:     te.str("subjectProviderName", "subject_provider_name"),
	}
	if ref := te.object("clientSecretRef", "client_secret_ref"); ref != nil {
		r := keyRef(ref)
		c.ClientSecretRef = &r
	}
	if c.TokenURL == "" {
		te.fail("tokenUrl", "is required")
	}
	return c
}

// secretRef is the required Secret reference under keys.
func secretRef(f *fields, keys ...string) authv1alpha1.SecretKeyRef {
	ref := required(f, keys...)
	if ref == nil {
		return authv1alpha1.SecretKeyRef{}
	}
	return keyRef(ref)
}

// keyRef reads a Secret reference, which needs both name and key.
func keyRef(ref *fields) authv1alpha1.SecretKeyRef {
	s := authv1alpha1.SecretKeyRef{Name: ref.str("name"), Key: ref.str("key")}
	if s.Name == "" || s.Key == "" {
		ref.fail("name", "a Secret reference needs a name and a key")
	}
	return s
}

// required is the object under keys; its absence is an error.
func required(f *fields, keys ...string) *fields {
	o := f.object(keys...)
	if o == nil {
		f.fail(keys[0], "is required")
	}
	return o
}

// specOf is the object's spec; its absence is an error.
func specOf(o *unstructured.Unstructured, r *reader) map[string]any {
	spec, ok := o.Object["spec"].(map[string]any)
	if !ok {
		r.errs = append(r.errs, "spec: is required")
		return map[string]any{}
	}
	return spec
}
