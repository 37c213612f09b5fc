package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
)

// A LocalKeyReference selects a key of a Secret or ConfigMap in the
// ProviderConfig's own namespace.
type LocalKeyReference struct {
	// Name of the object.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`

	// Key within the object's data.
	// +kubebuilder:validation:MinLength=1
	Key string `json:"key"`
}

// A KeyReference selects a key of a Secret or ConfigMap in a namespace.
type KeyReference struct {
	LocalKeyReference `json:",inline"`

	// Namespace of the object.
	// +kubebuilder:validation:MinLength=1
	Namespace string `json:"namespace"`
}

// ConnectionSettings are how the provider talks to authorization servers.
type ConnectionSettings struct {
	// HTTPTimeout bounds every request to an authorization server: at most
	// 30s, so that no server holds the provider's checks for long.
	// +kubebuilder:default="10s"
	// +kubebuilder:validation:XValidation:rule="duration(self) > duration('0s') && duration(self) <= duration('30s')",message="httpTimeout must be more than 0s and at most 30s"
	// +optional
	HTTPTimeout *metav1.Duration `json:"httpTimeout,omitempty"`

	// ProxyURL, when set, sends requests to authorization servers through
	// this HTTP(S) proxy. Proxy settings of the provider's environment are
	// never used.
	// +kubebuilder:validation:Pattern=`^https?://`
	// +optional
	ProxyURL string `json:"proxyURL,omitempty"`

	// AllowedTokenHosts restricts the hosts the provider may contact: token
	// and issuer URLs whose host matches none of these patterns are refused
	// before any request is made. A pattern is a host ("auth.example.com"),
	// a host and port ("auth.example.com:8443") or a leading wildcard label
	// ("*.example.com"). Empty allows every host.
	// +listType=set
	// +optional
	AllowedTokenHosts []string `json:"allowedTokenHosts,omitempty"`

	// AllowPrivateNetworks lets the provider contact authorization servers
	// (and the proxy) at loopback, link-local (cloud metadata), private and
	// shared addresses, which it otherwise refuses at connect time: a URL
	// in a config must not make the provider probe what only the cluster
	// reaches. A ClusterProviderConfig may set it; a namespaced
	// ProviderConfig only when the provider runs with
	// --namespaced-private-networks.
	// +optional
	AllowPrivateNetworks bool `json:"allowPrivateNetworks,omitempty"`
}

// ProviderConfigSpec configures a namespaced ProviderConfig.
type ProviderConfigSpec struct {
	// CABundle adds certificate authorities (PEM) trusted for the
	// authorization servers' TLS, besides the system roots.
	// +optional
	CABundle *LocalCABundleSource `json:"caBundle,omitempty"`

	ConnectionSettings `json:",inline"`
}

// LocalCABundleSource names where a PEM CA bundle is, in the ProviderConfig's
// namespace.
// +kubebuilder:validation:XValidation:rule="has(self.secretRef) != has(self.configMapRef)",message="exactly one of secretRef or configMapRef must be set"
type LocalCABundleSource struct {
	// SecretRef selects a key of a Secret.
	// +optional
	SecretRef *LocalKeyReference `json:"secretRef,omitempty"`

	// ConfigMapRef selects a key of a ConfigMap.
	// +optional
	ConfigMapRef *LocalKeyReference `json:"configMapRef,omitempty"`
}

// ClusterProviderConfigSpec configures a ClusterProviderConfig.
type ClusterProviderConfigSpec struct {
	// CABundle adds certificate authorities (PEM) trusted for the
	// authorization servers' TLS, besides the system roots.
	// +optional
	CABundle *CABundleSource `json:"caBundle,omitempty"`

	ConnectionSettings `json:",inline"`
}

// CABundleSource names where a PEM CA bundle is.
// +kubebuilder:validation:XValidation:rule="has(self.secretRef) != has(self.configMapRef)",message="exactly one of secretRef or configMapRef must be set"
type CABundleSource struct {
	// SecretRef selects a key of a Secret.
	// +optional
	SecretRef *KeyReference `json:"secretRef,omitempty"`

	// ConfigMapRef selects a key of a ConfigMap.
	// +optional
	ConfigMapRef *KeyReference `json:"configMapRef,omitempty"`
}

// A ProviderConfigStatus reflects the observed state of a provider config.
type ProviderConfigStatus struct {
	xpv2.ProviderConfigStatus `json:",inline"`
}

// +kubebuilder:object:root=true

// A ProviderConfig configures how provider-mcp reaches authorization servers
// for the ExternalAuthConfigs in its namespace.
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="AGE",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:printcolumn:name="USERS",type="integer",JSONPath=".status.users"
// +kubebuilder:resource:scope=Namespaced,categories={crossplane,provider,mcp}
type ProviderConfig struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +optional
	Spec   ProviderConfigSpec   `json:"spec"`
	Status ProviderConfigStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ProviderConfigList contains a list of ProviderConfig.
type ProviderConfigList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ProviderConfig `json:"items"`
}

// +kubebuilder:object:root=true

// A ClusterProviderConfig configures how provider-mcp reaches authorization
// servers, for ExternalAuthConfigs in any namespace.
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="AGE",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:printcolumn:name="USERS",type="integer",JSONPath=".status.users"
// +kubebuilder:resource:scope=Cluster,categories={crossplane,provider,mcp}
type ClusterProviderConfig struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +optional
	Spec   ClusterProviderConfigSpec `json:"spec"`
	Status ProviderConfigStatus      `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ClusterProviderConfigList contains a list of ClusterProviderConfig.
type ClusterProviderConfigList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterProviderConfig `json:"items"`
}

// +kubebuilder:object:root=true

// A ProviderConfigUsage records that a managed resource uses a
// ProviderConfig or a ClusterProviderConfig.
//
// Deprecated: provider-mcp no longer writes usages. Provider configs count
// the ExternalAuthConfigs that reference them instead, which saves a write
// and an object per config. The kind remains so that usages written by
// earlier versions stay readable until garbage collection removes them with
// their configs.
// +kubebuilder:printcolumn:name="AGE",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:printcolumn:name="CONFIG-KIND",type="string",JSONPath=".providerConfigRef.kind"
// +kubebuilder:printcolumn:name="CONFIG-NAME",type="string",JSONPath=".providerConfigRef.name"
// +kubebuilder:printcolumn:name="RESOURCE-KIND",type="string",JSONPath=".resourceRef.kind"
// +kubebuilder:printcolumn:name="RESOURCE-NAME",type="string",JSONPath=".resourceRef.name"
// +kubebuilder:resource:scope=Namespaced,categories={crossplane,provider,mcp}
type ProviderConfigUsage struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	xpv2.TypedProviderConfigUsage `json:",inline"`
}

// +kubebuilder:object:root=true

// ProviderConfigUsageList contains a list of ProviderConfigUsage.
type ProviderConfigUsageList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ProviderConfigUsage `json:"items"`
}

// Kind metadata.
var (
	ProviderConfigKind                 = "ProviderConfig"
	ProviderConfigGroupVersionKind     = SchemeGroupVersion.WithKind(ProviderConfigKind)
	ProviderConfigListGroupVersionKind = SchemeGroupVersion.WithKind("ProviderConfigList")

	ClusterProviderConfigKind                 = "ClusterProviderConfig"
	ClusterProviderConfigGroupVersionKind     = SchemeGroupVersion.WithKind(ClusterProviderConfigKind)
	ClusterProviderConfigListGroupVersionKind = SchemeGroupVersion.WithKind("ClusterProviderConfigList")

	ProviderConfigUsageKind                 = "ProviderConfigUsage"
	ProviderConfigUsageGroupVersionKind     = SchemeGroupVersion.WithKind(ProviderConfigUsageKind)
	ProviderConfigUsageListGroupVersionKind = SchemeGroupVersion.WithKind("ProviderConfigUsageList")
)

func init() {
	SchemeBuilder.Register(
		&ProviderConfig{}, &ProviderConfigList{},
		&ClusterProviderConfig{}, &ClusterProviderConfigList{},
		&ProviderConfigUsage{}, &ProviderConfigUsageList{},
	)
}
