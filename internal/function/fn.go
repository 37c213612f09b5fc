// Package function is function-mcp-server: it reads an MCPServer XR, the
// ExternalAuthConfig it uses and the Composition's input, has package render
// make the workload, and reports readiness, URL and problems on the XR.
package function

import (
	"context"
	"fmt"
	"maps"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/crossplane/function-sdk-go/request"
	"github.com/crossplane/function-sdk-go/resource"
	"github.com/crossplane/function-sdk-go/resource/composed"
	"github.com/crossplane/function-sdk-go/resource/composite"
	"github.com/crossplane/function-sdk-go/response"

	authv1alpha1 "github.com/crossmcp/provider-mcp/apis/auth/v1alpha1"
	platform "github.com/crossmcp/provider-mcp/apis/platform/v1alpha1"
	"github.com/crossmcp/provider-mcp/internal/function/input/v1beta1"
	"github.com/crossmcp/provider-mcp/internal/function/render"
)

const (
	errInput        = "invalid function input"
	errInputKind    = "input is apiVersion %q, kind %q: function-mcp-server takes apiVersion %q, kind %q"
	errObservedXR   = "cannot read the observed composite resource"
	errDesiredXR    = "cannot read the desired composite resource"
	errRequired     = "cannot read the required resources"
	errXR           = "invalid MCPServer"
	errConfig       = "cannot read the ExternalAuthConfig"
	errSetDesiredXR = "cannot set the desired composite resource"
	errConvert      = "cannot convert a rendered object"
	errPolicy       = "MCPServer refused"
	errKeep         = "cannot render the workload without a usable ExternalAuthConfig, and will not delete the running one"
)

// Conditions the function sets on the XR (and its claim).
const (
	// TypeExternalAuthReady says whether the outgoing authentication's
	// config is usable, and what the workload runs with while it is not.
	TypeExternalAuthReady = "ExternalAuthReady"
	// TypeTokenExchangeActive says whether the proxy will really exchange
	// tokens: it needs inbound OIDC to have one to exchange.
	TypeTokenExchangeActive = "TokenExchangeActive"

	ReasonAvailable         = "Available"
	ReasonNotConfigured     = "NotConfigured"
	ReasonActive            = "Active"
	ReasonNoInboundAuth     = "NoInboundAuthentication"
	ReasonKeepingLastConfig = "KeepingLastGoodConfig"
)

// RequiredConfig is the key under which the function asks Crossplane for a
// referenced ExternalAuthConfig.
const RequiredConfig = "externalAuthConfig"

// Function renders MCP server workloads.
type Function struct {
	fnv1.UnimplementedFunctionRunnerServiceServer

	log logging.Logger
}

// New returns the function.
func New(log logging.Logger) *Function {
	return &Function{log: log}
}

// RunFunction renders the workload of one MCPServer. Bad input is a fatal
// result, which makes Crossplane change nothing; a config that cannot be used
// is a warning, and the workload keeps the last config that could.
func (f *Function) RunFunction(_ context.Context, req *fnv1.RunFunctionRequest) (*fnv1.RunFunctionResponse, error) {
	rsp := response.To(req, response.DefaultTTL)

	in, err := getInput(req)
	if err != nil {
		response.Fatal(rsp, errors.Wrap(err, errInput))
		return rsp, nil
	}
	oxr, err := request.GetObservedCompositeResource(req)
	if err != nil {
		response.Fatal(rsp, errors.Wrap(err, errObservedXR))
		return rsp, nil
	}
	srv, err := server(oxr.Resource, in)
	if err != nil {
		response.Fatal(rsp, errors.Wrap(err, errXR))
		return rsp, nil
	}
	if err := checkPolicy(srv, in.Policy); err != nil {
		response.Fatal(rsp, errors.Wrap(err, errPolicy))
		return rsp, nil
	}
	log := f.log.WithValues("xr", oxr.Resource.GetName(), "namespace", srv.Namespace)

	// The observed composed resources are read one by one where needed:
	// request.GetObservedComposedResources would convert every one of them,
	// the Deployment with its status, on every call.
	observed := req.GetObserved().GetResources()
	dxr, err := request.GetDesiredCompositeResource(req)
	if err != nil {
		response.Fatal(rsp, errors.Wrap(err, errDesiredXR))
		return rsp, nil
	}

	// Asked for before the config: a configRef returns early until its
	// config is read, and Crossplane should fetch both in one round.
	be, err := adoptBackend(req, rsp, srv, oxr.Resource.GetUID(), observed)
	if err != nil {
		response.Fatal(rsp, errors.Wrap(err, errRequired))
		return rsp, nil
	}
	msg, err := clash(req, rsp, srv, oxr.Resource.GetUID())
	if err != nil {
		response.Fatal(rsp, errors.Wrap(err, errRequired))
		return rsp, nil
	}
	if msg != "" {
		response.Fatal(rsp, errors.Wrap(errors.New(msg), errPolicy))
		return rsp, nil
	}

	var objs []render.Object
	ea := srv.Spec.ExternalAuth
	var cfg *authv1alpha1.ExternalAuthConfig
	switch {
	case ea != nil && ea.ConfigRef != nil:
		var fetched bool
		cfg, fetched, err = requireConfig(req, rsp, srv.Namespace, ea.ConfigRef.Name)
		if err != nil {
			response.Fatal(rsp, errors.Wrap(err, errRequired))
			return rsp, nil
		}
		if !fetched {
			// Crossplane fetches it and calls again.
			return rsp, nil
		}
	case ea != nil && ea.Inline != nil:
		objs = append(objs, render.Object{Name: render.NameExternalAuthConfig, Object: render.InlineConfig(srv, in)})
		if o, ok := observed[render.NameExternalAuthConfig]; ok {
			cfg = &authv1alpha1.ExternalAuthConfig{}
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.GetResource().AsMap(), cfg); err != nil {
				response.Fatal(rsp, errors.Wrap(err, errConfig))
				return rsp, nil
			}
		}
	}

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
	if msg := reportTokenExchange(rsp, srv, auth); msg != "" {
		// Refused, not rendered: the workload already running stays as it
		// is, since Crossplane changes nothing after a fatal result.
		response.Fatal(rsp, errors.New(msg))
		return rsp, nil
	}

	if ea != nil && auth == nil {
		// Nothing usable yet: render what needs no config and hold back what
		// does. Should a Deployment exist all the same (an XR whose status
		// was lost), change nothing rather than delete it.
		if _, ok := observed[render.NameDeployment]; ok {
			response.Fatal(rsp, errors.New(errKeep))
			return rsp, nil
		}
		for _, o := range render.Workload(srv, nil, in) {
			if o.Name != render.NameDeployment && o.Name != render.NameRunConfig {
				objs = append(objs, o)
			}
		}
		dxr.Ready = resource.ReadyFalse
	} else {
		objs = append(objs, render.Workload(srv, auth, in)...)
		be.report(rsp)
	}

	// Our objects go straight into the desired state as Structs. What earlier
	// steps desired stays as it came: response.To shares the request's
	// desired state, so reading it all back and setting it again, as
	// request.GetDesiredComposedResources and
	// response.SetDesiredComposedResources would, only converts it twice.
	c := newConverter()
	rendered := make(map[string]*fnv1.Resource, len(objs))
	allReady := true
	for _, o := range objs {
		s, err := c.Struct(o.Object)
		if err != nil {
			response.Fatal(rsp, errors.Wrap(err, errConvert))
			return rsp, nil
		}
		rendered[o.Name] = &fnv1.Resource{Resource: s, Ready: ready(o.Name, observed, cfg)}
		allReady = allReady && rendered[o.Name].Ready == fnv1.Ready_READY_TRUE
	}
	if allReady && be.holdsXR() {
		// The workload is not up before its MCP server is. Only said
		// when nothing composed says so, which names what is unready.
		dxr.Ready = resource.ReadyFalse
	}
	if rsp.Desired == nil {
		rsp.Desired = &fnv1.State{}
	}
	if rsp.Desired.Resources == nil {
		rsp.Desired.Resources = make(map[string]*fnv1.Resource, len(rendered))
	}
	maps.Copy(rsp.Desired.Resources, rendered)
	if be.resource != nil {
		rsp.Desired.Resources[RequiredBackend] = be.resource
	}

	if err := setStatus(dxr.Resource, srv, auth); err != nil {
		response.Fatal(rsp, errors.Wrap(err, errSetDesiredXR))
		return rsp, nil
	}
	if err := response.SetDesiredCompositeResource(rsp, dxr); err != nil {
		response.Fatal(rsp, errors.Wrap(err, errSetDesiredXR))
		return rsp, nil
	}
	log.Debug("Rendered MCP server workload", "objects", len(objs))
	return rsp, nil
}

// getInput reads and checks the input. A Composition that gives none gets
// the defaults.
func getInput(req *fnv1.RunFunctionRequest) (*v1beta1.Workload, error) {
	in := &v1beta1.Workload{}
	if req.GetInput() != nil {
		if err := request.GetInput(req, in); err != nil {
			return nil, err
		}
		// JSON decoding takes any apiVersion and kind: an input meant for
		// another function would otherwise render with defaults, silently.
		if in.APIVersion != v1beta1.SchemeGroupVersion.String() || in.Kind != v1beta1.Kind {
			return nil, errors.Errorf(errInputKind, in.APIVersion, in.Kind, v1beta1.SchemeGroupVersion.String(), v1beta1.Kind)
		}
	}
	in.Default()
	return in, in.Validate()
}

// server reads the XR. A v2 XR is namespaced and its objects get its name; a
// legacy XR's objects go to its claim's namespace and get the claim's name,
// which is the name its users know.
func server(xr *composite.Unstructured, in *v1beta1.Workload) (*render.Server, error) {
	s := &render.Server{Name: xr.GetName(), Namespace: xr.GetNamespace()}
	if err := xr.GetValueInto("spec", &s.Spec); err != nil {
		return nil, errors.Wrap(err, "cannot read spec")
	}
	if s.Namespace == "" {
		name, ns, err := legacyTarget(xr, in)
		if err != nil {
			return nil, err
		}
		s.Name, s.Namespace = name, ns
	}
	render.Defaults(&s.Spec)
	return s, render.Validate(s)
}

// Crossplane's labels on an XR made through a claim.
const (
	labelClaimName      = "crossplane.io/claim-name"
	labelClaimNamespace = "crossplane.io/claim-namespace"
)

// legacyTarget is where a cluster-scoped XR's workload runs: its claim's
// namespace, under the claim's name. Whoever creates the XR writes its
// claimRef, so it counts only where Crossplane's claim labels agree with it;
// an XR without a claim runs where the Composition's input says, if it does.
func legacyTarget(xr *composite.Unstructured, in *v1beta1.Workload) (string, string, error) {
	ref := xr.GetClaimReference()
	if ref == nil || ref.Namespace == "" {
		if in.Namespace != "" {
			return xr.GetName(), in.Namespace, nil
		}
		return "", "", errors.Errorf("%s %q has no claim: create it through an %s, whose namespace the workload runs in, or name the namespace in the function input", xr.GetKind(), xr.GetName(), platform.MCPServerClaimKind)
	}
	l := xr.GetLabels()
	if l[labelClaimName] != ref.Name || l[labelClaimNamespace] != ref.Namespace {
		return "", "", errors.Errorf("%s %q: spec.claimRef names %s %s/%s, but Crossplane's claim labels say %s/%s; only Crossplane writes both",
			xr.GetKind(), xr.GetName(), platform.MCPServerClaimKind, ref.Namespace, ref.Name, l[labelClaimNamespace], l[labelClaimName])
	}
	return ref.Name, ref.Namespace, nil
}

// requireConfig asks Crossplane for the referenced ExternalAuthConfig and
// returns it once fetched; nil when fetched and not found.
func requireConfig(req *fnv1.RunFunctionRequest, rsp *fnv1.RunFunctionResponse, ns, name string) (*authv1alpha1.ExternalAuthConfig, bool, error) {
	require(rsp, RequiredConfig, &fnv1.ResourceSelector{
		ApiVersion: authv1alpha1.SchemeGroupVersion.String(),
		Kind:       authv1alpha1.ExternalAuthConfigKind,
		Match:      &fnv1.ResourceSelector_MatchName{MatchName: name},
		Namespace:  &ns,
	})
	rr, err := request.GetRequiredResources(req)
	if err != nil {
		return nil, false, err
	}
	found, ok := rr[RequiredConfig]
	if !ok {
		return nil, false, nil
	}
	for _, r := range found {
		if r.Resource.GetName() != name || r.Resource.GetNamespace() != ns {
			continue
		}
		cfg := &authv1alpha1.ExternalAuthConfig{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(r.Resource.Object, cfg); err != nil {
			return nil, true, errors.Wrap(err, errConfig)
		}
		return cfg, true, nil
	}
	return nil, true, nil
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

// ready is a composed resource's readiness: the Deployment when Available,
// a dedicated ExternalAuthConfig when Ready, anything else once it exists.
// cfg is the dedicated config as already read, nil when there is none.
func ready(name string, observed map[string]*fnv1.Resource, cfg *authv1alpha1.ExternalAuthConfig) fnv1.Ready {
	o, ok := observed[name]
	if !ok {
		return fnv1.Ready_READY_FALSE
	}
	var c xpv2.Condition
	switch name {
	case render.NameDeployment:
		d := composed.New()
		d.SetUnstructuredContent(o.GetResource().AsMap())
		c = d.GetCondition("Available")
	case render.NameExternalAuthConfig:
		if cfg == nil {
			return fnv1.Ready_READY_FALSE
		}
		c = cfg.GetCondition(xpv2.TypeReady)
	default:
		return fnv1.Ready_READY_TRUE
	}
	if c.Status == corev1.ConditionTrue {
		return fnv1.Ready_READY_TRUE
	}
	return fnv1.Ready_READY_FALSE
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
