// Package v1beta1 is the input of function-mcp-server: how a Composition
// wants MCP server workloads rendered.
// +kubebuilder:object:generate=true
// +groupName=mcpserver.fn.crossmcp.io
// +versionName=v1beta1
package v1beta1

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
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
// the input names none.
const DefaultRunnerImage = "ghcr.io/stacklok/toolhive/proxyrunner:v0.44.0"

// ConfigMode is how the proxy runner receives its configuration.
type ConfigMode string

// Config modes.
const (
	// ConfigModeConfigMap mounts a RunConfig ConfigMap, as ToolHive's
	// operator does.
	ConfigModeConfigMap ConfigMode = "ConfigMap"
	// ConfigModeFlags passes the settings as `thv run` flags.
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

	// RunnerImage is the ToolHive proxy runner image.
	// +kubebuilder:validation:MinLength=1
	// +optional
	RunnerImage string `json:"runnerImage,omitempty"`

	// ConfigMode is how the runner gets its settings: a mounted RunConfig
	// ConfigMap (the default) or `thv run` flags. Either way the client
	// secret reaches it only as an environment variable from a Secret.
	// +kubebuilder:validation:Enum=ConfigMap;Flags
	// +optional
	ConfigMode ConfigMode `json:"configMode,omitempty"`

	// Labels added to every rendered object.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`

	// Annotations added to every rendered object.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
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
	switch w.ConfigMode {
	case ConfigModeConfigMap, ConfigModeFlags:
	default:
		return fmt.Errorf("configMode %q is not one of ConfigMap, Flags", w.ConfigMode)
	}
	return nil
}
