// Package apis contains the Kubernetes API types of provider-mcp.
package apis

import (
	"k8s.io/apimachinery/pkg/runtime"

	protectionv1beta1 "github.com/crossplane/crossplane/apis/v2/protection/v1beta1"

	authv1alpha1 "github.com/crossmcp/provider-mcp/apis/auth/v1alpha1"
	mcpv1alpha1 "github.com/crossmcp/provider-mcp/apis/v1alpha1"
)

//go:generate go tool controller-gen object:headerFile=../hack/boilerplate.go.txt paths=./auth/...;./v1alpha1/...
//go:generate go tool controller-gen crd:crdVersions=v1 paths=./auth/...;./v1alpha1/... output:artifacts:config=../package/provider/crds

// AddToSchemes adds every provider-mcp API to a scheme, and Crossplane's
// Usage, which the provider reads to report a config's users.
var AddToSchemes = runtime.SchemeBuilder{
	authv1alpha1.SchemeBuilder.AddToScheme,
	mcpv1alpha1.SchemeBuilder.AddToScheme,
	protectionv1beta1.AddToScheme,
}

// AddToScheme adds all provider-mcp APIs to the supplied scheme.
func AddToScheme(s *runtime.Scheme) error {
	return AddToSchemes.AddToScheme(s)
}
