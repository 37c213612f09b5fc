// Package function is function-mcp-server: it reads an MCPServer XR, the
// ExternalAuthConfig it uses and the Composition's input, has package render
// make the workload, and reports readiness, URL and problems on the XR.
package function

import (
	"context"
	"maps"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/crossplane/function-sdk-go/request"
	"github.com/crossplane/function-sdk-go/resource"
	"github.com/crossplane/function-sdk-go/resource/composed"
	"github.com/crossplane/function-sdk-go/response"

	authv1alpha1 "github.com/crossmcp/provider-mcp/apis/auth/v1alpha1"
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

	in, oxr, srv, err := read(req)
	if err != nil {
		response.Fatal(rsp, err)
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
	// config is read, and Crossplane should fetch all in one round.
	be, err := backendOf(req, rsp, srv, oxr.Resource.GetUID(), observed)
	if err != nil {
		response.Fatal(rsp, err)
		return rsp, nil
	}

	ea := srv.Spec.ExternalAuth
	objs, cfg, wait, err := externalAuth(req, rsp, srv, in, observed)
	if err != nil {
		response.Fatal(rsp, err)
		return rsp, nil
	}
	if wait {
		// Crossplane fetches the config and calls again.
		return rsp, nil
	}

	auth, refused := effectiveAuth(rsp, srv, cfg, observed)
	if refused != "" {
		// Refused, not rendered: the workload already running stays as it
		// is, since Crossplane changes nothing after a fatal result.
		response.Fatal(rsp, errors.New(refused))
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
		objs = append(objs, withoutConfig(render.Workload(srv, nil, in))...)
		dxr.Ready = resource.ReadyFalse
	} else {
		objs = append(objs, render.Workload(srv, auth, in)...)
		be.report(rsp)
	}

	if err := compose(rsp, objs, observed, cfg, be, dxr); err != nil {
		response.Fatal(rsp, err)
		return rsp, nil
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

// read returns the Composition's input, the observed XR and the server it
// describes, once all are valid and within the Composition's policy. Errors
// are wrapped for a fatal result.
func read(req *fnv1.RunFunctionRequest) (*v1beta1.Workload, *resource.Composite, *render.Server, error) {
	in, err := getInput(req)
	if err != nil {
		return nil, nil, nil, errors.Wrap(err, errInput)
	}
	oxr, err := request.GetObservedCompositeResource(req)
	if err != nil {
		return nil, nil, nil, errors.Wrap(err, errObservedXR)
	}
	srv, err := server(oxr.Resource, in)
	if err != nil {
		return nil, nil, nil, errors.Wrap(err, errXR)
	}
	if err := checkPolicy(srv, in.Policy); err != nil {
		return nil, nil, nil, errors.Wrap(err, errPolicy)
	}
	return in, oxr, srv, nil
}

// backendOf asks for the runner's StatefulSet and the Deployment the
// workload would compose, and refuses an MCPServer whose objects another
// controller owns (see clash). Errors are wrapped for a fatal result.
func backendOf(req *fnv1.RunFunctionRequest, rsp *fnv1.RunFunctionResponse, srv *render.Server, xr types.UID, observed map[string]*fnv1.Resource) (backend, error) {
	be, err := adoptBackend(req, rsp, srv, xr, observed)
	if err != nil {
		return backend{}, errors.Wrap(err, errRequired)
	}
	msg, err := clash(req, rsp, srv, xr)
	if err != nil {
		return backend{}, errors.Wrap(err, errRequired)
	}
	if msg != "" {
		return backend{}, errors.Wrap(errors.New(msg), errPolicy)
	}
	return be, nil
}

// externalAuth returns the objects the outgoing authentication adds (an
// inline config) and the config in effect: the referenced one once Crossplane
// fetched it (wait until then), or the inline one as observed. Errors are
// wrapped for a fatal result.
func externalAuth(req *fnv1.RunFunctionRequest, rsp *fnv1.RunFunctionResponse, srv *render.Server, in *v1beta1.Workload, observed map[string]*fnv1.Resource) ([]render.Object, *authv1alpha1.ExternalAuthConfig, bool, error) {
	ea := srv.Spec.ExternalAuth
	switch {
	case ea != nil && ea.ConfigRef != nil:
		cfg, fetched, err := requireConfig(req, rsp, srv.Namespace, ea.ConfigRef.Name)
		if err != nil {
			return nil, nil, false, errors.Wrap(err, errRequired)
		}
		return nil, cfg, !fetched, nil
	case ea != nil && ea.Inline != nil:
		objs := []render.Object{{Name: render.NameExternalAuthConfig, Object: render.InlineConfig(srv, in)}}
		o, ok := observed[render.NameExternalAuthConfig]
		if !ok {
			return objs, nil, false, nil
		}
		cfg := &authv1alpha1.ExternalAuthConfig{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.GetResource().AsMap(), cfg); err != nil {
			return nil, nil, false, errors.Wrap(err, errConfig)
		}
		return objs, cfg, false, nil
	}
	return nil, nil, false, nil
}

// compose puts our objects into the desired state as Structs, with their
// readiness, and the adopted StatefulSet. What earlier steps desired stays
// as it came: response.To shares the request's desired state, so reading it
// all back and setting it again, as request.GetDesiredComposedResources and
// response.SetDesiredComposedResources would, only converts it twice.
func compose(rsp *fnv1.RunFunctionResponse, objs []render.Object, observed map[string]*fnv1.Resource, cfg *authv1alpha1.ExternalAuthConfig, be backend, dxr *resource.Composite) error {
	c := newConverter()
	rendered := make(map[string]*fnv1.Resource, len(objs))
	allReady := true
	for _, o := range objs {
		s, err := c.Struct(o.Object)
		if err != nil {
			return errors.Wrap(err, errConvert)
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
	return nil
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
