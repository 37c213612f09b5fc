package function

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/crossplane/function-sdk-go/resource/composite"
	"github.com/crossplane/function-sdk-go/response"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"

	authv1alpha1 "github.com/crossmcp/provider-mcp/apis/auth/v1alpha1"
	platform "github.com/crossmcp/provider-mcp/apis/platform/v1alpha1"
	"github.com/crossmcp/provider-mcp/internal/function/render"
)

// effectiveAuth reports the ExternalAuthReady and TokenExchangeActive
// conditions and returns the outgoing authentication the workload runs
// with: the config's, or while it is unusable the last good one, read from
// the observed composed resources. A refusal is a fatal result's message.
func effectiveAuth(rsp *fnv1.RunFunctionResponse, srv *render.Server, cfg *authv1alpha1.ExternalAuthConfig, observed map[string]*fnv1.Resource) (*platform.ExternalAuthStatus, string) {
	auth, cerr := authInEffect(srv, cfg)
	if cerr != nil {
		last := lastGood(observed)
		msg := cerr.Message
		if last != nil {
			msg += fmt.Sprintf("; the workload keeps running with ExternalAuthConfig %q (configHash %s)", last.ConfigName, last.ConfigHash)
		}
		response.ConditionFalse(rsp, TypeExternalAuthReady, cerr.Reason).WithMessage(msg).TargetCompositeAndClaim()
		response.Warning(rsp, errors.New(msg)).WithReason(cerr.Reason).TargetCompositeAndClaim()
		auth = last
	} else {
		reportAuth(rsp, auth)
	}
	return auth, reportTokenExchange(rsp, srv, auth)
}

// withoutConfig drops what needs a usable config: the Deployment and the
// RunConfig.
func withoutConfig(objs []render.Object) []render.Object {
	out := objs[:0]
	for _, o := range objs {
		if o.Name != render.NameDeployment && o.Name != render.NameRunConfig {
			out = append(out, o)
		}
	}
	return out
}

// authInEffect is the outgoing authentication the config gives the server,
// or why there is none to be had now.
func authInEffect(srv *render.Server, cfg *authv1alpha1.ExternalAuthConfig) (*platform.ExternalAuthStatus, *render.ConfigError) {
	ea := srv.Spec.ExternalAuth
	switch {
	case ea == nil:
		return nil, nil
	case cfg == nil && ea.ConfigRef != nil:
		return nil, &render.ConfigError{Reason: render.ReasonConfigNotFound, Message: fmt.Sprintf("ExternalAuthConfig %q not found in namespace %q", ea.ConfigRef.Name, srv.Namespace)}
	case cfg == nil:
		return nil, &render.ConfigError{Reason: render.ReasonConfigNotReady, Message: fmt.Sprintf("ExternalAuthConfig %q is being created", render.InlineConfigName(srv))}
	}
	return render.Auth(cfg)
}

func reportAuth(rsp *fnv1.RunFunctionResponse, a *platform.ExternalAuthStatus) {
	if a == nil {
		response.ConditionTrue(rsp, TypeExternalAuthReady, ReasonNotConfigured).WithMessage("no outgoing authentication is configured").TargetCompositeAndClaim()
		return
	}
	response.ConditionTrue(rsp, TypeExternalAuthReady, ReasonAvailable).
		WithMessage(fmt.Sprintf("ExternalAuthConfig %q is Ready (configHash %s)", a.ConfigName, a.ConfigHash)).TargetCompositeAndClaim()
}

// errNoInboundAuth refuses token exchange without inbound OIDC: the runner
// would then exchange any bearer token a client sends, unvalidated.
const errNoInboundAuth = "token exchange needs spec.oidc: without inbound authentication the proxy would exchange any bearer token a client sends, unvalidated; set spec.oidc (issuer and audience of the users' tokens), or use an ExternalAuthConfig of type unauthenticated"

// reportTokenExchange says whether the proxy will exchange tokens, and
// returns why the workload must not be rendered, "" when it may.
func reportTokenExchange(rsp *fnv1.RunFunctionResponse, srv *render.Server, a *platform.ExternalAuthStatus) string {
	switch {
	case a == nil || a.TokenURL == "":
		response.ConditionFalse(rsp, TypeTokenExchangeActive, ReasonNotConfigured).WithMessage("no token exchange is configured").TargetCompositeAndClaim()
	case srv.Spec.OIDC == nil:
		response.ConditionFalse(rsp, TypeTokenExchangeActive, ReasonNoInboundAuth).WithMessage(errNoInboundAuth).TargetCompositeAndClaim()
		return errNoInboundAuth
	default:
		response.ConditionTrue(rsp, TypeTokenExchangeActive, ReasonActive).
			WithMessage(fmt.Sprintf("tokens validated against %s are exchanged at %s for audience %q", srv.Spec.OIDC.Issuer, a.TokenURL, a.Audience)).TargetCompositeAndClaim()
	}
	return ""
}

// setStatus reports the URL and the outgoing authentication in effect.
// The values are set as they are: the fieldpath setters behind
// xr.SetValue would take each through JSON and back.
func setStatus(xr *composite.Unstructured, srv *render.Server, a *platform.ExternalAuthStatus) error {
	if err := unstructured.SetNestedField(xr.Object, render.URL(srv), "status", "url"); err != nil {
		return err
	}
	if a == nil {
		return nil
	}
	if err := unstructured.SetNestedField(xr.Object, a.ConfigHash, "status", "externalAuthConfigHash"); err != nil {
		return err
	}
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(a)
	if err != nil {
		return err
	}
	return unstructured.SetNestedMap(xr.Object, u, "status", "externalAuth")
}
