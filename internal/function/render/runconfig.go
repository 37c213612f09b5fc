package render

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"slices"
	"strconv"

	platform "github.com/crossmcp/provider-mcp/apis/platform/v1alpha1"
	"github.com/crossmcp/provider-mcp/internal/authconfig"
)

// SchemaVersion of the proxy runner's RunConfig.
const SchemaVersion = "v0.1.0"

// RunConfig is the part of ToolHive's RunConfig (pkg/runner) we render. Keys
// are the runner's own. middleware_configs is deliberately absent: given
// none, the runner builds its middleware chain from the typed fields in its
// own order (auth before token exchange); a partial list would replace it.
type RunConfig struct {
	SchemaVersion       string               `json:"schema_version"`
	Name                string               `json:"name"`
	Image               string               `json:"image"`
	CmdArgs             []string             `json:"cmd_args,omitempty"`
	ContainerName       string               `json:"container_name"`
	BaseName            string               `json:"base_name"`
	Transport           string               `json:"transport"`
	Host                string               `json:"host"`
	Port                int32                `json:"port"`
	TargetPort          int32                `json:"target_port"`
	ProxyMode           string               `json:"proxy_mode,omitempty"`
	PermissionProfile   *PermissionProfile   `json:"permission_profile"`
	EnvVars             map[string]string    `json:"env_vars"`
	ContainerLabels     map[string]string    `json:"container_labels"`
	OIDCConfig          *OIDCConfig          `json:"oidc_config,omitempty"`
	ThvCABundle         string               `json:"thv_ca_bundle,omitempty"`
	TokenExchangeConfig *TokenExchangeConfig `json:"token_exchange_config,omitempty"`
}

// PermissionProfile is the runner's permissions.Profile; ToolHive's builder
// gives every server the builtin "network" profile.
type PermissionProfile struct {
	Name    string `json:"name"`
	Network struct {
		Outbound struct {
			InsecureAllowAll bool `json:"insecure_allow_all"`
		} `json:"outbound"`
	} `json:"network"`
}

// OIDCConfig is the runner's auth.TokenValidatorConfig. That struct has no
// JSON tags, so its keys are its Go field names.
type OIDCConfig struct {
	Issuer            string   `json:"Issuer"`
	Audience          string   `json:"Audience,omitempty"`
	JWKSURL           string   `json:"JWKSURL,omitempty"`
	ClientID          string   `json:"ClientID,omitempty"`
	IntrospectionURL  string   `json:"IntrospectionURL,omitempty"`
	CACertPath        string   `json:"CACertPath,omitempty"`
	AllowPrivateIP    bool     `json:"AllowPrivateIP,omitempty"`
	InsecureAllowHTTP bool     `json:"InsecureAllowHTTP,omitempty"`
	ResourceURL       string   `json:"ResourceURL,omitempty"`
	Scopes            []string `json:"Scopes,omitempty"`
}

// TokenExchangeConfig is the runner's token exchange configuration. It never
// carries the client secret: the runner reads that from the environment.
type TokenExchangeConfig struct {
	TokenURL                string   `json:"token_url"`
	ClientID                string   `json:"client_id,omitempty"`
	Audience                string   `json:"audience,omitempty"`
	Scopes                  []string `json:"scopes,omitempty"`
	SubjectTokenType        string   `json:"subject_token_type,omitempty"`
	HeaderStrategy          string   `json:"header_strategy"`
	ExternalTokenHeaderName string   `json:"external_token_header_name,omitempty"`
}

// tokenExchange returns the runner's token exchange settings for a, nil when
// a is no token exchange.
func tokenExchange(a *platform.ExternalAuthStatus) *TokenExchangeConfig {
	if a == nil || a.TokenURL == "" {
		return nil
	}
	te := &TokenExchangeConfig{
		TokenURL:                a.TokenURL,
		ClientID:                a.ClientID,
		Audience:                a.Audience,
		Scopes:                  a.Scopes,
		SubjectTokenType:        a.SubjectTokenType,
		HeaderStrategy:          authconfig.HeaderStrategyReplace,
		ExternalTokenHeaderName: a.ExternalTokenHeaderName,
	}
	if a.ExternalTokenHeaderName != "" {
		te.HeaderStrategy = authconfig.HeaderStrategyCustom
	}
	return te
}

func oidcConfig(o *platform.OIDCConfig) *OIDCConfig {
	if o == nil {
		return nil
	}
	return &OIDCConfig{
		Issuer: o.Issuer, Audience: o.Audience, JWKSURL: o.JWKSURL, ClientID: o.ClientID, IntrospectionURL: o.IntrospectionURL,
		CACertPath: oidcCACertPath(o), AllowPrivateIP: o.JWKSAllowPrivateIP, InsecureAllowHTTP: o.InsecureAllowHTTP,
		ResourceURL: o.ResourceURL, Scopes: o.Scopes,
	}
}

// OIDCCAMountPath is where the inbound OIDC CA bundle is mounted.
const OIDCCAMountPath = "/etc/toolhive/oidc-ca"

// oidcCACertPath is the mounted CA bundle's path, "" for none.
func oidcCACertPath(o *platform.OIDCConfig) string {
	if o == nil || o.CABundleRef == nil {
		return ""
	}
	return OIDCCAMountPath + "/" + caBundleKey(o.CABundleRef)
}

// caBundleKey is the ConfigMap key of a CA bundle: ca.crt unless named, as
// the XRD defaults it.
func caBundleKey(r *platform.CABundleRef) string {
	if r.Key == "" {
		return "ca.crt"
	}
	return r.Key
}

// DefaultMCPPort is the port an HTTP MCP server listens on when the XR sets
// none: ToolHive's operator's default.
const DefaultMCPPort = 8080

// runConfig is the RunConfig of a server, as ToolHive's operator's builder
// would write it for a ToolHive MCPServer of the same spec: the runner uses
// the file as written, and test/toolhive compares the two.
func runConfig(name string, s *platform.MCPServerSpec, a *platform.ExternalAuthStatus) *RunConfig {
	target := s.MCPPort
	if target == 0 {
		target = DefaultMCPPort
	}
	rc := &RunConfig{
		SchemaVersion: SchemaVersion,
		Name:          name,
		Image:         s.Image,
		CmdArgs:       s.Args,
		// The runner names the MCP server's StatefulSet and Services after
		// container_name; our names are already DNS labels.
		ContainerName:       name,
		BaseName:            name,
		Transport:           s.Transport,
		Host:                "0.0.0.0",
		Port:                s.ProxyPort,
		TargetPort:          target,
		ProxyMode:           s.ProxyMode,
		PermissionProfile:   &PermissionProfile{Name: "network"},
		EnvVars:             make(map[string]string, len(s.Env)+3),
		OIDCConfig:          oidcConfig(s.OIDC),
		ThvCABundle:         oidcCACertPath(s.OIDC),
		TokenExchangeConfig: tokenExchange(a),
	}
	rc.PermissionProfile.Network.Outbound.InsecureAllowAll = true
	// Only a stdio server is proxied in a mode of its own choosing; an HTTP
	// server's clients speak its transport.
	if s.Transport != platform.TransportStdio {
		rc.ProxyMode = s.Transport
	}
	for _, e := range s.Env {
		rc.EnvVars[e.Name] = e.Value
	}
	// The runner's transport settings win over the XR's, as in ToolHive.
	rc.EnvVars["MCP_TRANSPORT"] = s.Transport
	if s.Transport != platform.TransportStdio {
		rc.EnvVars["MCP_PORT"] = strconv.Itoa(int(target))
		rc.EnvVars["FASTMCP_PORT"] = strconv.Itoa(int(target))
	}
	rc.ContainerLabels = map[string]string{
		"toolhive":           "true",
		"toolhive-name":      name,
		"toolhive-basename":  name,
		"toolhive-transport": s.Transport,
		"toolhive-port":      strconv.Itoa(int(s.ProxyPort)),
	}
	return rc
}

// runConfigJSON is the ConfigMap's runconfig.json, indented as ToolHive's
// operator writes it. encoding/json sorts map keys, so equal configs give
// equal bytes.
func runConfigJSON(rc *RunConfig) string {
	b, _ := json.MarshalIndent(rc, "", "  ") //nolint:errchkjson // Plain strings, ints and maps of strings always marshal.
	return string(b)
}

// checksum is a SHA-256 over a ConfigMap's data in key order. Only the data
// counts: a label change must not roll pods.
func checksum(data map[string]string) string {
	h := sha256.New()
	for _, k := range slices.Sorted(maps.Keys(data)) {
		h.Write([]byte(k))
		h.Write([]byte{0})
		h.Write([]byte(data[k]))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}
