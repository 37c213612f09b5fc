// Package v1alpha1 holds the spec and status of the MCPServer composite
// resource. These types are the single source of the schema of both XRDs
// (hack/xrdgen turns the CRD controller-gen makes from them into the v2
// MCPServer and the legacy XMCPServer XRDs), and the function reads XRs into
// them. They are never served by a CRD of their own.
// +kubebuilder:object:generate=true
// +groupName=platform.crossmcp.io
// +versionName=v1alpha1
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	authv1alpha1 "github.com/crossmcp/provider-mcp/apis/auth/v1alpha1"
)

// Package type metadata.
const (
	Group   = "platform.crossmcp.io"
	Version = "v1alpha1"

	// MCPServerKind is the kind of the namespaced (v2) XR.
	MCPServerKind = "MCPServer"
	// XMCPServerKind is the kind of the legacy cluster XR.
	XMCPServerKind = "XMCPServer"
	// MCPServerClaimKind is the claim of the legacy XR.
	MCPServerClaimKind = "MCPServerClaim"
)

// Transports of an MCP server, as ToolHive names them.
const (
	TransportStdio          = "stdio"
	TransportSSE            = "sse"
	TransportStreamableHTTP = "streamable-http"
)

// MCPServerSpec mirrors ToolHive's MCPServer spec where it matters, plus the
// outgoing authentication of the proxy. An inline token exchange needs
// inbound OIDC: without it the proxy would exchange any bearer token a client
// sends, unvalidated (a shared config's type is checked by the function).
// +kubebuilder:validation:XValidation:rule="!has(self.externalAuth) || !has(self.externalAuth.inline) || self.externalAuth.inline.type != 'tokenExchange' || has(self.oidc)",message="token exchange needs spec.oidc: without inbound authentication the proxy would exchange any bearer token a client sends, unvalidated"
type MCPServerSpec struct {
	// Image of the MCP server: an image reference. It is an argument of the
	// proxy runner, so it never starts with "-".
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:XValidation:rule="!self.startsWith('-')",message="image must not start with '-': it would be a flag to the proxy runner"
	Image string `json:"image"`

	// Transport the MCP server speaks.
	// +kubebuilder:validation:Enum=stdio;sse;streamable-http
	// +kubebuilder:default=stdio
	// +optional
	Transport string `json:"transport,omitempty"`

	// ProxyMode is what the proxy offers clients of a stdio server.
	// +kubebuilder:validation:Enum=sse;streamable-http
	// +kubebuilder:default=streamable-http
	// +optional
	ProxyMode string `json:"proxyMode,omitempty"`

	// ProxyPort the proxy listens on, and the port of its Service.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +kubebuilder:default=8080
	// +optional
	ProxyPort int32 `json:"proxyPort,omitempty"`

	// MCPPort the MCP server listens on (sse and streamable-http transports).
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +optional
	MCPPort int32 `json:"mcpPort,omitempty"`

	// Args passed to the MCP server.
	// +listType=atomic
	// +optional
	Args []string `json:"args,omitempty"`

	// Env sets environment variables of the MCP server.
	// +listType=map
	// +listMapKey=name
	// +optional
	Env []EnvVar `json:"env,omitempty"`

	// Secrets exposes keys of Secrets in this namespace to the MCP server as
	// environment variables.
	// +listType=atomic
	// +optional
	Secrets []SecretEnv `json:"secrets,omitempty"`

	// Resources of the MCP server container.
	// +optional
	Resources *ResourceRequirements `json:"resources,omitempty"`

	// ServiceAccount the MCP server runs as. Unset: <name>-sa, created for it.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	ServiceAccount *string `json:"serviceAccount,omitempty"`

	// OIDC authenticates incoming requests. Token exchange needs it: without
	// an authenticated user the proxy has no token to exchange.
	// +optional
	OIDC *OIDCConfig `json:"oidc,omitempty"`

	// ExternalAuth is how the proxy authenticates to the backend.
	// +optional
	ExternalAuth *ExternalAuth `json:"externalAuth,omitempty"`
}

// EnvVar is an environment variable of the MCP server.
type EnvVar struct {
	// Name of the variable.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:Pattern=`^[A-Za-z_][A-Za-z0-9_]*$`
	Name string `json:"name"`

	// Value of the variable.
	// +optional
	Value string `json:"value,omitempty"`
}

// SecretEnv exposes a key of a Secret as an environment variable.
type SecretEnv struct {
	// Name of the Secret, in the MCPServer's namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// Key within the Secret.
	// +kubebuilder:validation:MinLength=1
	Key string `json:"key"`

	// TargetEnvName is the variable's name. Unset: the key.
	// +kubebuilder:validation:Pattern=`^[A-Za-z_][A-Za-z0-9_]*$`
	// +optional
	TargetEnvName string `json:"targetEnvName,omitempty"`
}

// ResourceRequirements of the MCP server container, as ToolHive spells them.
type ResourceRequirements struct {
	// Limits of the container.
	// +optional
	Limits ResourceList `json:"limits,omitempty"`

	// Requests of the container.
	// +optional
	Requests ResourceList `json:"requests,omitempty"`
}

// ResourceList is a CPU and memory amount.
type ResourceList struct {
	// CPU, e.g. 500m.
	// +kubebuilder:validation:Pattern=`^[0-9]+(\.[0-9]+)?m?$`
	// +optional
	CPU string `json:"cpu,omitempty"`

	// Memory, e.g. 256Mi.
	// +kubebuilder:validation:Pattern=`^[0-9]+(\.[0-9]+)?([EPTGMK]i?|[numk])?$`
	// +optional
	Memory string `json:"memory,omitempty"`
}

// OIDCConfig validates incoming tokens: ToolHive's inline OIDC settings.
// +kubebuilder:validation:XValidation:rule="self.issuer.startsWith('https://') || (has(self.insecureAllowHTTP) && self.insecureAllowHTTP)",message="issuer must be an https URL unless insecureAllowHTTP is true: the proxy refuses a plain HTTP issuer"
type OIDCConfig struct {
	// Issuer of the tokens.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:XValidation:rule="isURL(self)",message="issuer must be an absolute URL"
	Issuer string `json:"issuer"`

	// Audience the tokens must carry. Empty: the proxy checks no audience,
	// so it accepts a token the issuer minted for any client; set it to the
	// audience your clients request for this server.
	// +optional
	Audience string `json:"audience,omitempty"`

	// JWKSURL to fetch signing keys from. Unset: discovered from the issuer.
	// +kubebuilder:validation:XValidation:rule="isURL(self)",message="jwksUrl must be an absolute URL"
	// +optional
	JWKSURL string `json:"jwksUrl,omitempty"`

	// ClientID of the proxy at the issuer.
	// +optional
	ClientID string `json:"clientId,omitempty"`

	// IntrospectionURL validates opaque tokens (RFC 7662).
	// +kubebuilder:validation:XValidation:rule="isURL(self)",message="introspectionUrl must be an absolute URL"
	// +optional
	IntrospectionURL string `json:"introspectionUrl,omitempty"`

	// CABundleRef names a key of a ConfigMap in the MCPServer's namespace
	// holding the PEM CA bundle that signs the issuer's, JWKS and
	// introspection certificates. It is mounted into the proxy runner's pod
	// and passed to the runner as its CACertPath.
	// +optional
	CABundleRef *CABundleRef `json:"caBundleRef,omitempty"`

	// JWKSAllowPrivateIP lets the proxy fetch the issuer's metadata and keys
	// from a private or loopback address, such as an in-cluster issuer.
	// +optional
	JWKSAllowPrivateIP bool `json:"jwksAllowPrivateIP,omitempty"`

	// InsecureAllowHTTP lets the proxy talk to a plain HTTP issuer. Never
	// for production.
	// +optional
	InsecureAllowHTTP bool `json:"insecureAllowHTTP,omitempty"`

	// ResourceURL is the protected resource's URL the proxy advertises in
	// its RFC 9728 metadata. Unset: the proxy's own URL.
	// +kubebuilder:validation:XValidation:rule="isURL(self)",message="resourceUrl must be an absolute URL"
	// +optional
	ResourceURL string `json:"resourceUrl,omitempty"`

	// Scopes the proxy advertises in its RFC 9728 metadata.
	// +listType=atomic
	// +optional
	Scopes []string `json:"scopes,omitempty"`
}

// CABundleRef names a key of a ConfigMap in the MCPServer's namespace.
type CABundleRef struct {
	// ConfigMapName of the ConfigMap.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	ConfigMapName string `json:"configMapName"`

	// Key of the PEM bundle in the ConfigMap.
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:default=ca.crt
	// +optional
	Key string `json:"key,omitempty"`
}

// ExternalAuth selects the proxy's outgoing authentication: a shared
// ExternalAuthConfig, or settings for a dedicated one.
// +kubebuilder:validation:XValidation:rule="has(self.configRef) != has(self.inline)",message="set exactly one of configRef and inline"
type ExternalAuth struct {
	// ConfigRef names a shared ExternalAuthConfig in this namespace.
	// +optional
	ConfigRef *ConfigRef `json:"configRef,omitempty"`

	// Inline settings make the composition create a dedicated
	// ExternalAuthConfig for this server.
	// +optional
	Inline *authv1alpha1.ExternalAuthConfigParameters `json:"inline,omitempty"`
}

// ConfigRef names an ExternalAuthConfig in the MCPServer's namespace.
// +kubebuilder:validation:XValidation:rule="!has(self.__namespace__)",message="cross-namespace references are not allowed: configRef names an ExternalAuthConfig in the MCPServer's own namespace"
type ConfigRef struct {
	// Name of the ExternalAuthConfig.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// Namespace is refused: it exists so a cross-namespace reference is
	// rejected with a clear message instead of silently dropped.
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// MCPServerStatus is what the composition reports.
type MCPServerStatus struct {
	// URL of the proxy inside the cluster.
	// +optional
	URL string `json:"url,omitempty"`

	// ExternalAuthConfigHash of the config the running workload uses.
	// +optional
	ExternalAuthConfigHash string `json:"externalAuthConfigHash,omitempty"`

	// ExternalAuth is the outgoing authentication the workload runs with:
	// the last config seen Ready. While a config is missing or not Ready the
	// workload keeps these settings.
	// +optional
	ExternalAuth *ExternalAuthStatus `json:"externalAuth,omitempty"`
}

// ExternalAuthStatus is the outgoing authentication in effect. It never holds
// a secret, only where the secret is.
type ExternalAuthStatus struct {
	// ConfigName of the ExternalAuthConfig.
	ConfigName string `json:"configName"`

	// Type of the config.
	Type authv1alpha1.ExternalAuthType `json:"type"`

	// ConfigHash of the config (spec and secret content).
	// +optional
	ConfigHash string `json:"configHash,omitempty"`

	// TokenURL of the exchange.
	// +optional
	TokenURL string `json:"tokenUrl,omitempty"`

	// ClientID of the proxy at the token endpoint.
	// +optional
	ClientID string `json:"clientId,omitempty"`

	// ClientSecretRef is the key of the config's connection secret that
	// holds the client secret; unset for a public client.
	// +optional
	ClientSecretRef *authv1alpha1.SecretKeyRef `json:"clientSecretRef,omitempty"`

	// Audience of the exchanged token.
	// +optional
	Audience string `json:"audience,omitempty"`

	// Scopes of the exchanged token.
	// +listType=atomic
	// +optional
	Scopes []string `json:"scopes,omitempty"`

	// SubjectTokenType as a full URN.
	// +optional
	SubjectTokenType string `json:"subjectTokenType,omitempty"`

	// ExternalTokenHeaderName carries the exchanged token; unset: it
	// replaces Authorization.
	// +optional
	ExternalTokenHeaderName string `json:"externalTokenHeaderName,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Namespaced,shortName=cmcp,categories={composite,mcp,crossmcp}

// An MCPServer runs an MCP server behind the ToolHive proxy runner, which
// exchanges each user's token for a backend token. Its name is at most 53
// characters: the proxy's Service is mcp-<name>-proxy, a DNS label. The
// runner image is the Composition's (function input runnerImage; unset:
// ghcr.io/stacklok/toolhive/proxyrunner:v0.48.0, the runner the function
// renders for).
type MCPServer struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   MCPServerSpec   `json:"spec"`
	Status MCPServerStatus `json:"status,omitempty"`
}
