package function

import (
	"fmt"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/crossplane/function-sdk-go/request"
	"github.com/crossplane/function-sdk-go/resource"
	"github.com/crossplane/function-sdk-go/response"
	"google.golang.org/protobuf/types/known/structpb"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"

	"github.com/crossmcp/provider-mcp/internal/function/render"
)

// RequiredBackend is the key under which the function asks Crossplane for
// the StatefulSet the proxy runner creates for the MCP server.
const RequiredBackend = "mcp-server-statefulset"

// TypeMCPServerReady says whether the MCP server the proxy runner started,
// its StatefulSet, is up.
const (
	TypeMCPServerReady = "MCPServerReady"

	ReasonWaitingForRunner    = "WaitingForProxyRunner"
	ReasonStatefulSetNotReady = "StatefulSetNotReady"
	ReasonControlledElsewhere = "ControlledElsewhere"
)

// A backend is what the function knows of the MCP server's StatefulSet.
type backend struct {
	// resource to compose: the StatefulSet's identity only. Nil when there
	// is none to compose.
	resource *fnv1.Resource
	// reason and message of the MCPServerReady condition; reason is
	// ReasonAvailable when it is ready.
	reason, message string
}

// report sets the MCPServerReady condition, and warns of a StatefulSet
// another controller owns.
func (b backend) report(rsp *fnv1.RunFunctionResponse) {
	switch b.reason {
	case ReasonAvailable:
		response.ConditionTrue(rsp, TypeMCPServerReady, b.reason).WithMessage(b.message).TargetCompositeAndClaim()
	case ReasonControlledElsewhere:
		response.Warning(rsp, errors.New(b.message)).WithReason(b.reason).TargetCompositeAndClaim()
		fallthrough
	default:
		response.ConditionFalse(rsp, TypeMCPServerReady, b.reason).WithMessage(b.message).TargetCompositeAndClaim()
	}
}

// holdsXR says whether the XR must be held not Ready on the StatefulSet's
// account although no composed resource would say so: it does not exist
// yet, or is not ours.
func (b backend) holdsXR() bool { return b.resource == nil && b.reason != ReasonAvailable }

// adoptBackend asks Crossplane for the StatefulSet the proxy runner applies
// (named after the RunConfig's container_name) and, once it exists, composes
// its identity only. Crossplane then makes the XR its controller, so it and
// the Services the runner hangs off it are garbage collected with the XR,
// while its spec stays the runner's: the two apply different fields. A
// StatefulSet another controller owns is left alone and reported.
func adoptBackend(req *fnv1.RunFunctionRequest, rsp *fnv1.RunFunctionResponse, srv *render.Server, xr types.UID, observed map[string]*fnv1.Resource) (backend, error) {
	rr, err := requireNamed(req, rsp, RequiredBackend, "StatefulSet", srv)
	if err != nil {
		return backend{}, err
	}
	var found map[string]any
	for _, r := range rr[RequiredBackend] {
		if r.Resource.GetName() == srv.Name && r.Resource.GetNamespace() == srv.Namespace {
			found = r.Resource.Object
		}
	}
	if o, ok := observed[RequiredBackend]; ok && found == nil {
		// Composed already: never let a missing answer garbage collect it.
		found = o.GetResource().AsMap()
	}
	if found == nil {
		return backend{reason: ReasonWaitingForRunner, message: fmt.Sprintf("waiting for the proxy runner to create StatefulSet %q", srv.Name)}, nil
	}
	sts := &appsv1.StatefulSet{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(found, sts); err != nil {
		return backend{}, errors.Wrap(err, errConvert)
	}
	if c := metav1.GetControllerOf(sts); c != nil && c.UID != xr {
		return backend{reason: ReasonControlledElsewhere, message: fmt.Sprintf("StatefulSet %q is controlled by %s %q, not by this MCPServer: it is left alone, and the proxy runner's changes to it may fight with its controller", srv.Name, c.Kind, c.Name)}, nil
	}
	s, err := structpb.NewStruct(map[string]any{
		"apiVersion": appsv1.SchemeGroupVersion.String(),
		"kind":       "StatefulSet",
		"metadata":   map[string]any{"name": srv.Name, "namespace": srv.Namespace},
	})
	if err != nil {
		return backend{}, errors.Wrap(err, errConvert)
	}
	if !statefulSetReady(sts) {
		return backend{
			resource: &fnv1.Resource{Resource: s, Ready: fnv1.Ready_READY_FALSE},
			reason:   ReasonStatefulSetNotReady, message: fmt.Sprintf("StatefulSet %q of the MCP server is not ready", srv.Name),
		}, nil
	}
	return backend{
		resource: &fnv1.Resource{Resource: s, Ready: fnv1.Ready_READY_TRUE},
		reason:   ReasonAvailable, message: fmt.Sprintf("StatefulSet %q of the MCP server is ready", srv.Name),
	}, nil
}

// statefulSetReady is true once the controller has seen the latest spec and
// every replica is ready.
func statefulSetReady(sts *appsv1.StatefulSet) bool {
	replicas := ptr.Deref(sts.Spec.Replicas, 1)
	return sts.Status.ObservedGeneration >= sts.Generation && sts.Status.ReadyReplicas >= replicas
}

// requireNamed asks Crossplane for the apps/v1 object of kind named after
// the server, in its namespace, and returns the required resources so far.
func requireNamed(req *fnv1.RunFunctionRequest, rsp *fnv1.RunFunctionResponse, key, kind string, srv *render.Server) (map[string][]resource.Required, error) {
	require(rsp, key, &fnv1.ResourceSelector{
		ApiVersion: appsv1.SchemeGroupVersion.String(),
		Kind:       kind,
		Match:      &fnv1.ResourceSelector_MatchName{MatchName: srv.Name},
		Namespace:  &srv.Namespace,
	})
	return request.GetRequiredResources(req)
}

// require adds a required resource to the response, keeping the others.
func require(rsp *fnv1.RunFunctionResponse, key string, s *fnv1.ResourceSelector) {
	if rsp.Requirements == nil {
		rsp.Requirements = &fnv1.Requirements{}
	}
	if rsp.Requirements.Resources == nil {
		rsp.Requirements.Resources = map[string]*fnv1.ResourceSelector{}
	}
	rsp.Requirements.Resources[key] = s
}
