package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
)

// ExternalAuthType is the kind of outgoing authentication a config describes.
// The values are ToolHive's MCPExternalAuthConfig types.
// +kubebuilder:validation:Enum=tokenExchange;headerInjection;bearerToken;unauthenticated
type ExternalAuthType string

// External authentication types.
const (
	TypeTokenExchange   ExternalAuthType = "tokenExchange"
	TypeHeaderInjection ExternalAuthType = "headerInjection"
	TypeBearerToken     ExternalAuthType = "bearerToken"
	TypeUnauthenticated ExternalAuthType = "unauthenticated"
)

// A SecretKeyRef selects a key of a Secret in the ExternalAuthConfig's own
// namespace. There is deliberately no namespace field.
type SecretKeyRef struct {
	// Name of the Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// Key within the Secret's data.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Key string `json:"key"`
}

// ExternalAuthConfigParameters mirror ToolHive's MCPExternalAuthConfig spec
// field for field, so a ToolHive spec can be copied here as it is.
// +kubebuilder:validation:XValidation:rule="self.type == 'tokenExchange' ? has(self.tokenExchange) : !has(self.tokenExchange)",message="tokenExchange must be set if and only if type is tokenExchange"
// +kubebuilder:validation:XValidation:rule="self.type == 'headerInjection' ? has(self.headerInjection) : !has(self.headerInjection)",message="headerInjection must be set if and only if type is headerInjection"
// +kubebuilder:validation:XValidation:rule="self.type == 'bearerToken' ? has(self.bearerToken) : !has(self.bearerToken)",message="bearerToken must be set if and only if type is bearerToken"
type ExternalAuthConfigParameters struct {
	// Type of outgoing authentication. unauthenticated takes no settings.
	Type ExternalAuthType `json:"type"`

	// TokenExchange configures RFC 8693 token exchange: the proxy exchanges
	// each user's token for one meant for the backend.
	// +optional
	TokenExchange *TokenExchangeConfig `json:"tokenExchange,omitempty"`

	// HeaderInjection injects a static header whose value is in a Secret.
	// +optional
	HeaderInjection *HeaderInjectionConfig `json:"headerInjection,omitempty"`

	// BearerToken sends a static bearer token kept in a Secret.
	// +optional
	BearerToken *BearerTokenConfig `json:"bearerToken,omitempty"`
}

// TokenExchangeConfig is ToolHive's tokenExchange block plus the verification
// settings only this provider has.
// +kubebuilder:validation:XValidation:rule="self.tokenUrl.startsWith('https://') || (has(self.insecureAllowHTTP) && self.insecureAllowHTTP && self.tokenUrl.startsWith('http://'))",message="tokenUrl must be an https URL (http only with insecureAllowHTTP: true)"
// +kubebuilder:validation:XValidation:rule="!has(self.issuerUrl) || self.issuerUrl.startsWith('https://') || (has(self.insecureAllowHTTP) && self.insecureAllowHTTP && self.issuerUrl.startsWith('http://'))",message="issuerUrl must be an https URL (http only with insecureAllowHTTP: true)"
// +kubebuilder:validation:XValidation:rule="!has(self.clientSecretRef) || (has(self.clientId) && size(self.clientId) > 0)",message="clientSecretRef requires clientId: the client authenticates with both"
type TokenExchangeConfig struct {
	// TokenURL is the authorization server's token endpoint.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="isURL(self)",message="tokenUrl must be an absolute URL"
	TokenURL string `json:"tokenUrl"`

	// ClientID authenticates the proxy at the token endpoint.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	ClientID string `json:"clientId,omitempty"`

	// ClientSecretRef selects the client secret in a Secret of this
	// namespace.
	// +optional
	ClientSecretRef *SecretKeyRef `json:"clientSecretRef,omitempty"`

	// Audience of the token to request.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="self.trim().size() > 0",message="audience must not be blank"
	Audience string `json:"audience"`

	// Scopes to request.
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:Pattern=`^[\x21\x23-\x5B\x5D-\x7E]+$`
	// +listType=atomic
	// +optional
	Scopes []string `json:"scopes,omitempty"`

	// SubjectTokenType is the type of the user's token: access_token (the
	// default), id_token, jwt, or the full urn:ietf:params:oauth:token-type
	// URN of one of them.
	// +kubebuilder:validation:Pattern=`^(access_token|id_token|jwt|urn:ietf:params:oauth:token-type:(access_token|id_token|jwt))?$`
	// +optional
	SubjectTokenType string `json:"subjectTokenType,omitempty"`

	// ExternalTokenHeaderName, when set, makes the proxy send the exchanged
	// token in this header instead of replacing Authorization.
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9!#$%&'*+.^_|~-]+$`
	// +optional
	ExternalTokenHeaderName string `json:"externalTokenHeaderName,omitempty"`

	// SubjectProviderName is accepted for compatibility with ToolHive, where
	// only its virtual MCP server uses it. The proxy runner ignores it.
	// +optional
	SubjectProviderName string `json:"subjectProviderName,omitempty"`

	// IssuerURL, when set, is used for metadata discovery (RFC 8414, then
	// OpenID Connect discovery): the provider checks that the advertised
	// token endpoint is tokenUrl and that token exchange is offered.
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="isURL(self)",message="issuerUrl must be an absolute URL"
	// +optional
	IssuerURL string `json:"issuerUrl,omitempty"`

	// InsecureAllowHTTP allows plain-http tokenUrl and issuerUrl. Never use it
	// outside of a test: client secrets and tokens would cross the network in
	// clear text.
	// +optional
	InsecureAllowHTTP bool `json:"insecureAllowHTTP,omitempty"`

	// Verification controls how the provider checks the authorization server.
	// +optional
	Verification *VerificationPolicy `json:"verification,omitempty"`
}

// VerificationPolicy controls the checks the provider makes against the
// authorization server. Both are on unless switched off.
type VerificationPolicy struct {
	// Discovery fetches the issuer's metadata when issuerUrl is set.
	// +kubebuilder:default=true
	// +optional
	Discovery *bool `json:"discovery,omitempty"`

	// CredentialProbe sends a token-exchange request with a deliberately
	// invalid subject token: the answer tells whether the server accepts the
	// client credentials, without obtaining a token.
	// +kubebuilder:default=true
	// +optional
	CredentialProbe *bool `json:"credentialProbe,omitempty"`
}

// HeaderInjectionConfig is ToolHive's headerInjection block.
type HeaderInjectionConfig struct {
	// HeaderName of the header to inject.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9!#$%&'*+.^_|~-]+$`
	HeaderName string `json:"headerName"`

	// ValueSecretRef selects the header's value in a Secret of this namespace.
	ValueSecretRef SecretKeyRef `json:"valueSecretRef"`
}

// BearerTokenConfig is ToolHive's bearerToken block.
type BearerTokenConfig struct {
	// TokenSecretRef selects the token in a Secret of this namespace.
	TokenSecretRef SecretKeyRef `json:"tokenSecretRef"`
}

// VerificationOutcome summarises the last check of the authorization server.
type VerificationOutcome string

// Verification outcomes.
const (
	VerificationSucceeded VerificationOutcome = "Succeeded"
	VerificationFailed    VerificationOutcome = "Failed"
	VerificationSkipped   VerificationOutcome = "Skipped"
)

// DiscoveryObservation is what the authorization server advertised.
type DiscoveryObservation struct {
	// URL the metadata document was read from.
	URL string `json:"url,omitempty"`

	// Issuer as advertised.
	Issuer string `json:"issuer,omitempty"`

	// TokenEndpoint as advertised.
	TokenEndpoint string `json:"tokenEndpoint,omitempty"`

	// GrantTypesSupported as advertised; empty when the server does not list
	// them.
	// +listType=atomic
	GrantTypesSupported []string `json:"grantTypesSupported,omitempty"`
}

// VerificationObservation is the outcome of the last check of the
// authorization server.
type VerificationObservation struct {
	// Outcome of the verification.
	Outcome VerificationOutcome `json:"outcome,omitempty"`

	// Reason is a CamelCase word for the outcome, e.g. CredentialsRejected.
	Reason string `json:"reason,omitempty"`

	// Message explains the outcome.
	Message string `json:"message,omitempty"`

	// ConfigHash is the configHash that was verified.
	ConfigHash string `json:"configHash,omitempty"`

	// Time at which this outcome was first observed for this configHash.
	// Re-verifications that find the same outcome do not move it.
	Time *metav1.Time `json:"time,omitempty"`
}

// ExternalAuthConfigObservation is the observed state of an ExternalAuthConfig.
type ExternalAuthConfigObservation struct {
	// ConfigHash covers the spec and a digest of every referenced secret
	// value, so that a rotated secret changes it. Workloads carry it to roll
	// when it changes. The secret values themselves are never stored.
	ConfigHash string `json:"configHash,omitempty"`

	// PublishedConfigHash is the configHash of what the connection secret
	// holds: the last configuration the authorization server accepted, or
	// the current one when verification is switched off. While a newer
	// configuration is rejected or cannot be verified it differs from
	// configHash, and workloads keep the published one.
	PublishedConfigHash string `json:"publishedConfigHash,omitempty"`

	// Type of the config.
	Type ExternalAuthType `json:"type,omitempty"`

	// TokenEndpoint the proxy will use.
	TokenEndpoint string `json:"tokenEndpoint,omitempty"`

	// Discovery is what the issuer advertised, when issuerUrl is set.
	Discovery *DiscoveryObservation `json:"discovery,omitempty"`

	// Verification is the outcome of the last check of the authorization
	// server.
	Verification *VerificationObservation `json:"verification,omitempty"`

	// UsedBy lists what uses this config, from the Crossplane Usages that
	// protect it (an MCPServer's proxy Deployment, for one). While it is not
	// empty, deleting the config is refused.
	// +listType=atomic
	// +optional
	UsedBy []ConfigUser `json:"usedBy,omitempty"`
}

// A ConfigUser is a resource that uses an ExternalAuthConfig.
type ConfigUser struct {
	// APIVersion of the user.
	APIVersion string `json:"apiVersion,omitempty"`

	// Kind of the user.
	Kind string `json:"kind"`

	// Name of the user, in the config's namespace.
	Name string `json:"name"`

	// Usage that records the use.
	Usage string `json:"usage"`
}

// ExternalAuthConfigSpec is the desired state of an ExternalAuthConfig.
type ExternalAuthConfigSpec struct {
	xpv2.ManagedResourceSpec `json:",inline"`

	ForProvider ExternalAuthConfigParameters `json:"forProvider"`
}

// ExternalAuthConfigStatus is the observed state of an ExternalAuthConfig.
type ExternalAuthConfigStatus struct {
	xpv2.ManagedResourceStatus `json:",inline"`

	AtProvider ExternalAuthConfigObservation `json:"atProvider,omitempty"`
}

// +kubebuilder:object:root=true

// An ExternalAuthConfig describes how an MCP server's proxy authenticates to
// its backend: most often an RFC 8693 token exchange. The provider resolves
// its secret, verifies the authorization server and publishes the settings as
// a connection secret, at spec.writeConnectionSecretToRef: required when the
// config has a secret (a client secret, header value or bearer token) and an
// MCPServer uses it, since the proxy reads the secret from there. Its keys:
// type, config_hash, and for tokenExchange token_url, client_id,
// client_secret, audience, scopes, subject_token_type, header_strategy and
// external_token_header_name; for headerInjection header_name and
// header_value; for bearerToken bearer_token. A refused or unverifiable new
// secret is not published: the connection secret keeps the last accepted one.
// +kubebuilder:printcolumn:name="READY",type="string",JSONPath=".status.conditions[?(@.type=='Ready')].status"
// +kubebuilder:printcolumn:name="SYNCED",type="string",JSONPath=".status.conditions[?(@.type=='Synced')].status"
// +kubebuilder:printcolumn:name="TYPE",type="string",JSONPath=".spec.forProvider.type"
// +kubebuilder:printcolumn:name="TOKEN-URL",type="string",JSONPath=".spec.forProvider.tokenExchange.tokenUrl"
// +kubebuilder:printcolumn:name="VERIFICATION",type="string",JSONPath=".status.atProvider.verification.reason"
// +kubebuilder:printcolumn:name="AGE",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,shortName={eac,cmcpauth},categories={crossplane,managed,mcp,crossmcp}
type ExternalAuthConfig struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ExternalAuthConfigSpec   `json:"spec"`
	Status ExternalAuthConfigStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ExternalAuthConfigList contains a list of ExternalAuthConfig.
type ExternalAuthConfigList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ExternalAuthConfig `json:"items"`
}

// ExternalAuthConfig kind metadata.
var (
	ExternalAuthConfigKind             = "ExternalAuthConfig"
	ExternalAuthConfigGroupKind        = SchemeGroupVersion.WithKind(ExternalAuthConfigKind).GroupKind()
	ExternalAuthConfigGroupVersionKind = SchemeGroupVersion.WithKind(ExternalAuthConfigKind)
)

func init() {
	SchemeBuilder.Register(&ExternalAuthConfig{}, &ExternalAuthConfigList{})
}
