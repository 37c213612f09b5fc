package function

import (
	"fmt"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/crossmcp/provider-mcp/internal/function/render"
)

// RequiredDeployment is the key under which the function asks Crossplane
// for the Deployment it would compose, to find one another controller owns.
const RequiredDeployment = "proxy-runner-deployment"

// toolHiveGroup is the API group of ToolHive's operator, whose MCPServer
// renders the same object names as ours (the runner's conventions).
const toolHiveGroup = "toolhive.stacklok.dev"

// clash asks Crossplane for the Deployment named after the MCP server and
// returns why the MCPServer must be refused when another controller owns
// it: most often a ToolHive MCPServer of the same name in the namespace,
// whose operator renders the same Deployment, Service, ConfigMap and
// ServiceAccount names. Composing over them would fight that controller;
// refusing changes nothing. One this XR controls, or none, is no clash.
func clash(req *fnv1.RunFunctionRequest, rsp *fnv1.RunFunctionResponse, srv *render.Server, xr types.UID) (string, error) {
	rr, err := requireNamed(req, rsp, RequiredDeployment, "Deployment", srv)
	if err != nil {
		return "", err
	}
	for _, r := range rr[RequiredDeployment] {
		u := &unstructured.Unstructured{Object: r.Resource.Object}
		if u.GetName() != srv.Name || u.GetNamespace() != srv.Namespace {
			continue
		}
		c := metav1.GetControllerOfNoCopy(u)
		if c == nil || c.UID == xr {
			return "", nil
		}
		if gv, err := schema.ParseGroupVersion(c.APIVersion); err == nil && gv.Group == toolHiveGroup {
			return fmt.Sprintf("Deployment %s/%s belongs to ToolHive's %s %q, whose operator renders the objects this MCPServer would (Deployment %[2]s, Service mcp-%[2]s-proxy, ConfigMap %[2]s-runconfig): rename one of the two; nothing was changed", srv.Namespace, srv.Name, c.Kind, c.Name), nil
		}
		return fmt.Sprintf("Deployment %s/%s is controlled by %s %q, not by this MCPServer: rename the MCPServer or remove that Deployment; nothing was changed", srv.Namespace, srv.Name, c.Kind, c.Name), nil
	}
	return "", nil
}
