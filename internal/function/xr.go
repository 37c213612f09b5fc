package function

import (
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/crossplane/function-sdk-go/request"
	"github.com/crossplane/function-sdk-go/resource/composite"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"

	authv1alpha1 "github.com/crossmcp/provider-mcp/apis/auth/v1alpha1"
	platform "github.com/crossmcp/provider-mcp/apis/platform/v1alpha1"
	"github.com/crossmcp/provider-mcp/internal/function/input/v1beta1"
	"github.com/crossmcp/provider-mcp/internal/function/render"
)

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
