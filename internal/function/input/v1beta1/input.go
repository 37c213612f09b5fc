// Package v1beta1 is the input of function-mcp-server: how a Composition
// wants MCP server workloads rendered.
// +kubebuilder:object:generate=true
// +groupName=mcpserver.fn.crossmcp.io
// +versionName=v1beta1
package v1beta1

import (
	"fmt"
	"path"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Package type metadata.
const (
	Group   = "mcpserver.fn.crossmcp.io"
	Version = "v1beta1"
	Kind    = "Workload"
)

// SchemeGroupVersion is the input's group and version.
var SchemeGroupVersion = schema.GroupVersion{Group: Group, Version: Version}

// DefaultRunnerImage is the ToolHive proxy runner the function renders when
// the input names none: the version the tests run (cluster/tools/plane).
const DefaultRunnerImage = "ghcr.io/stacklok/toolhive/proxyrunner:v0.48.0"

// ConfigMode is how the proxy runner receives its configuration.
type ConfigMode string

// Config modes.
const (
	// ConfigModeConfigMap mounts a RunConfig ConfigMap, as ToolHive's
	// operator does.
	ConfigModeConfigMap ConfigMode = "ConfigMap"
	// ConfigModeFlags was `thv run` flags. It is retired: no thv-proxyrunner
	// release accepts token-exchange flags; the runner reads runconfig.json
	// only. An input that asks for it is refused.
	ConfigModeFlags ConfigMode = "Flags"
)

// A Workload says how to render MCP server workloads. Every field is
// optional: an input of just apiVersion and kind renders ToolHive's defaults.
// +kubebuilder:object:root=true
// +kubebuilder:storageversion
// +kubebuilder:resource:categories=crossplane
type Workload struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Namespace a legacy, cluster-scoped XR made without a claim runs its
	// workload in, under the XR's name. An XR made through a claim runs in
	// the claim's namespace; without a claim and without this it is refused.
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// RunnerImage is the ToolHive proxy runner image. Unset:
	// ghcr.io/stacklok/toolhive/proxyrunner:v0.48.0, the runner whose
	// RunConfig format the function renders.
	// +kubebuilder:validation:MinLength=1
	// +optional
	RunnerImage string `json:"runnerImage,omitempty"`

	// ConfigMode is how the runner gets its settings: a mounted RunConfig
	// ConfigMap, the only mode (Flags is retired: no proxy runner release
	// accepts token-exchange flags). The client secret reaches the runner
	// only as an environment variable from a Secret.
	// +kubebuilder:validation:Enum=ConfigMap
	// +optional
	ConfigMode ConfigMode `json:"configMode,omitempty"`

	// Labels added to every rendered object.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`

	// Annotations added to every rendered object.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`

	// Policy is what an MCPServer may ask for. Whoever may create an
	// MCPServer is not trusted with more: unset, any image, no
	// ServiceAccount of the MCPServer's choosing, no Secret exposed, no
	// resource ceiling.
	// +optional
	Policy *Policy `json:"policy,omitempty"`
}

// A Policy is what the platform lets an MCPServer ask for. Patterns are
// path.Match globs: "*" matches any run of characters but "/", so
// "ghcr.io/acme/*" matches ghcr.io/acme/server:v1, not ghcr.io/acme/x/y.
type Policy struct {
	// Images the MCP server's image must match. Unset: any image.
	// +listType=atomic
	// +optional
	Images []string `json:"images,omitempty"`

	// ServiceAccounts an MCPServer may name in spec.serviceAccount: the
	// server runs with that account's rights. Unset: none may be named; the
	// server runs as <name>-sa, made for it.
	// +listType=atomic
	// +optional
	ServiceAccounts []string `json:"serviceAccounts,omitempty"`

	// Secrets (by name) an MCPServer may expose to its server with
	// spec.secrets: whoever may create an MCPServer could otherwise read any
	// Secret of the namespace through it. Unset: none.
	// +listType=atomic
	// +optional
	Secrets []string `json:"secrets,omitempty"`

	// Resources caps what spec.resources may request or limit.
	// +optional
	Resources *ResourceCeiling `json:"resources,omitempty"`
}

// ResourceCeiling is the most CPU and memory an MCP server container may
// request or limit. Unset: no ceiling.
type ResourceCeiling struct {
	// CPU, e.g. "2" or 500m.
	// +optional
	CPU string `json:"cpu,omitempty"`

	// Memory, e.g. 1Gi.
	// +optional
	Memory string `json:"memory,omitempty"`
}

// Default fills in what the input leaves unset.
func (w *Workload) Default() {
	if w.RunnerImage == "" {
		w.RunnerImage = DefaultRunnerImage
	}
	if w.ConfigMode == "" {
		w.ConfigMode = ConfigModeConfigMap
	}
}

// Validate checks what the input's schema would, since Crossplane does not
// validate function input against it.
func (w *Workload) Validate() error {
	if errs := validation.IsDNS1123Label(w.Namespace); w.Namespace != "" && len(errs) > 0 {
		return fmt.Errorf("namespace %q is not a namespace name: %s", w.Namespace, strings.Join(errs, "; "))
	}
	if err := w.Policy.validate(); err != nil {
		return err
	}
	switch w.ConfigMode {
	case ConfigModeConfigMap:
		return nil
	case ConfigModeFlags:
		return fmt.Errorf("configMode %q is retired: no ToolHive proxy runner release accepts token-exchange flags, it reads its settings from runconfig.json only; remove configMode or set it to %q", w.ConfigMode, ConfigModeConfigMap)
	default:
		return fmt.Errorf("configMode %q is not %q, the only mode", w.ConfigMode, ConfigModeConfigMap)
	}
}

// validate checks the policy's patterns and quantities.
func (p *Policy) validate() error {
	if p == nil {
		return nil
	}
	for _, f := range []struct {
		name     string
		patterns []string
	}{{"images", p.Images}, {"serviceAccounts", p.ServiceAccounts}, {"secrets", p.Secrets}} {
		for _, pat := range f.patterns {
			if _, err := path.Match(pat, ""); err != nil {
				return fmt.Errorf("policy.%s: %q is not a pattern: %w", f.name, pat, err)
			}
		}
	}
	if r := p.Resources; r != nil {
		for _, q := range [][2]string{{"cpu", r.CPU}, {"memory", r.Memory}} {
			if _, err := resource.ParseQuantity(q[1]); q[1] != "" && err != nil {
				return fmt.Errorf("policy.resources.%s %q is not a quantity", q[0], q[1])
			}
		}
	}
	return nil
}
