package function

import (
	"fmt"
	"path"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/crossmcp/provider-mcp/internal/function/input/v1beta1"
	"github.com/crossmcp/provider-mcp/internal/function/render"
)

// checkPolicy refuses what the Composition's policy does not let an
// MCPServer ask for. Whoever may create an MCPServer may otherwise run any
// image, as any ServiceAccount of the namespace, with any of its Secrets.
func checkPolicy(s *render.Server, p *v1beta1.Policy) error {
	if p == nil {
		p = &v1beta1.Policy{}
	}
	if len(p.Images) > 0 && !matchAny(p.Images, s.Spec.Image) {
		return fmt.Errorf("spec.image %q matches none of the images the Composition's policy allows (policy.images %v)", s.Spec.Image, p.Images)
	}
	if sa := s.Spec.ServiceAccount; sa != nil {
		if len(p.ServiceAccounts) == 0 {
			return fmt.Errorf("spec.serviceAccount %q: the Composition's policy lets no MCPServer choose the ServiceAccount its server runs as (policy.serviceAccounts is empty); remove it, and the server runs as %s", *sa, s.Name+"-sa")
		}
		if !matchAny(p.ServiceAccounts, *sa) {
			return fmt.Errorf("spec.serviceAccount %q matches none of the ServiceAccounts the Composition's policy allows (policy.serviceAccounts %v)", *sa, p.ServiceAccounts)
		}
	}
	for i, e := range s.Spec.Secrets {
		if !matchAny(p.Secrets, e.Name) {
			return fmt.Errorf("spec.secrets[%d]: Secret %q is not one the Composition's policy lets an MCPServer expose (policy.secrets %v)", i, e.Name, orEmpty(p.Secrets))
		}
	}
	return checkResources(s, p.Resources)
}

// checkResources refuses requests and limits above the ceiling.
func checkResources(s *render.Server, c *v1beta1.ResourceCeiling) error {
	r := s.Spec.Resources
	if c == nil || r == nil {
		return nil
	}
	for _, q := range []struct{ field, value, ceiling, name string }{
		{"limits.cpu", r.Limits.CPU, c.CPU, "cpu"},
		{"limits.memory", r.Limits.Memory, c.Memory, "memory"},
		{"requests.cpu", r.Requests.CPU, c.CPU, "cpu"},
		{"requests.memory", r.Requests.Memory, c.Memory, "memory"},
	} {
		if q.value == "" || q.ceiling == "" {
			continue
		}
		// Both were validated: the XR's by render.Validate, the ceiling
		// with the input.
		v, max := resource.MustParse(q.value), resource.MustParse(q.ceiling)
		if v.Cmp(max) > 0 {
			return fmt.Errorf("spec.resources.%s %s is more than the Composition's policy allows (policy.resources.%s %s)", q.field, q.value, q.name, q.ceiling)
		}
	}
	return nil
}

func matchAny(patterns []string, s string) bool {
	for _, p := range patterns {
		// Patterns were validated with the input.
		if ok, _ := path.Match(p, s); ok {
			return true
		}
	}
	return false
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
