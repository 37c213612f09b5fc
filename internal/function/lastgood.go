package function

import (
	"encoding/json"

	protectionv1beta1 "github.com/crossplane/crossplane/apis/v2/protection/v1beta1"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	authv1alpha1 "github.com/crossmcp/provider-mcp/apis/auth/v1alpha1"
	platform "github.com/crossmcp/provider-mcp/apis/platform/v1alpha1"
	"github.com/crossmcp/provider-mcp/internal/function/render"
)

// lastGood is the outgoing authentication the running workload uses, read
// from what Crossplane observed of it: the RunConfig the runner reads, the
// Deployment's config hash and client secret reference, and the Usage's
// config. Never from the XR's status, which whoever may write the XR can
// write. Nil when no workload with a config runs.
func lastGood(observed map[string]*fnv1.Resource) *platform.ExternalAuthStatus {
	d, cm, u := &appsv1.Deployment{}, &corev1.ConfigMap{}, &protectionv1beta1.Usage{}
	for name, into := range map[string]any{render.NameDeployment: d, render.NameRunConfig: cm, render.NameUsage: u} {
		o, ok := observed[name]
		if !ok || runtime.DefaultUnstructuredConverter.FromUnstructured(o.GetResource().AsMap(), into) != nil {
			return nil
		}
	}
	a := &platform.ExternalAuthStatus{ConfigHash: d.Spec.Template.Annotations[render.AnnotationConfigHash], Type: authv1alpha1.TypeUnauthenticated}
	if ref := u.Spec.Of.ResourceRef; ref != nil {
		a.ConfigName = ref.Name
	}
	rc := &render.RunConfig{}
	if a.ConfigHash == "" || a.ConfigName == "" || json.Unmarshal([]byte(cm.Data[render.RunConfigKey]), rc) != nil {
		return nil
	}
	te := rc.TokenExchangeConfig
	if te == nil {
		return a
	}
	a.Type = authv1alpha1.TypeTokenExchange
	a.TokenURL, a.ClientID, a.Audience, a.Scopes = te.TokenURL, te.ClientID, te.Audience, te.Scopes
	a.SubjectTokenType, a.ExternalTokenHeaderName = te.SubjectTokenType, te.ExternalTokenHeaderName
	for _, c := range d.Spec.Template.Spec.Containers {
		for _, e := range c.Env {
			if e.Name == render.EnvClientSecret && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				a.ClientSecretRef = &authv1alpha1.SecretKeyRef{Name: e.ValueFrom.SecretKeyRef.Name, Key: e.ValueFrom.SecretKeyRef.Key}
			}
		}
	}
	return a
}
