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
	"github.com/crossmcp/provider-mcp/internal/oauth"
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
	Transport           string               `json:"transport"`
	Host                string               `json:"host"`
	Port                int32                `json:"port"`
	TargetPort          int32                `json:"target_port,omitempty"`
	ProxyMode           string               `json:"proxy_mode,omitempty"`
	EnvVars             map[string]string    `json:"env_vars,omitempty"`
	OIDCConfig          *OIDCConfig          `json:"oidc_config,omitempty"`
	TokenExchangeConfig *TokenExchangeConfig `json:"token_exchange_config,omitempty"`
}

// OIDCConfig is the runner's auth.TokenValidatorConfig. That struct has no
// JSON tags, so its keys are its Go field names.
type OIDCConfig struct {
	Issuer           string `json:"Issuer"`
	Audience         string `json:"Audience,omitempty"`
	JWKSURL          string `json:"JWKSURL,omitempty"`
	ClientID         string `json:"ClientID,omitempty"`
	IntrospectionURL string `json:"IntrospectionURL,omitempty"`
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
		HeaderStrategy:          authconfig.HeaderStrategyReplace,
		ExternalTokenHeaderName: a.ExternalTokenHeaderName,
	}
	// The runner's default is an access token; only say so when it differs.
	if a.SubjectTokenType != oauth.TokenTypeAccessToken {
		te.SubjectTokenType = a.SubjectTokenType
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
	return &OIDCConfig{Issuer: o.Issuer, Audience: o.Audience, JWKSURL: o.JWKSURL, ClientID: o.ClientID, IntrospectionURL: o.IntrospectionURL}
}

// runConfig is the RunConfig of a server.
func runConfig(name string, s *platform.MCPServerSpec, a *platform.ExternalAuthStatus) *RunConfig {
	rc := &RunConfig{
		SchemaVersion:       SchemaVersion,
		Name:                name,
		Image:               s.Image,
		CmdArgs:             s.Args,
		Transport:           s.Transport,
		Host:                "0.0.0.0",
		Port:                s.ProxyPort,
		TargetPort:          s.MCPPort,
		ProxyMode:           s.ProxyMode,
		OIDCConfig:          oidcConfig(s.OIDC),
		TokenExchangeConfig: tokenExchange(a),
	}
	if len(s.Env) > 0 {
		rc.EnvVars = make(map[string]string, len(s.Env))
		for _, e := range s.Env {
			rc.EnvVars[e.Name] = e.Value
		}
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

// shortTokenType turns a token type URN the `thv run` flag documents a short
// form for into that form; other URNs pass as they are.
func shortTokenType(urn string) string {
	switch urn {
	case oauth.TokenTypeAccessToken:
		return "access_token"
	case oauth.TokenTypeIDToken:
		return "id_token"
	case oauth.TokenTypeJWT:
		return "jwt"
	}
	return urn
}

// flags are the `thv run` flags that say what the RunConfig says, in a fixed
// order. The image and the server's own arguments come last.
func flags(rc *RunConfig) []string {
	f := []string{
		"--name=" + rc.Name,
		"--transport=" + rc.Transport,
		"--host=" + rc.Host,
		"--proxy-port=" + strconv.Itoa(int(rc.Port)),
	}
	if rc.ProxyMode != "" {
		f = append(f, "--proxy-mode="+rc.ProxyMode)
	}
	if rc.TargetPort != 0 {
		f = append(f, "--target-port="+strconv.Itoa(int(rc.TargetPort)))
	}
	for _, k := range slices.Sorted(maps.Keys(rc.EnvVars)) {
		f = append(f, "--env="+k+"="+rc.EnvVars[k])
	}
	if o := rc.OIDCConfig; o != nil {
		f = appendIf(f, "--oidc-issuer=", o.Issuer)
		f = appendIf(f, "--oidc-audience=", o.Audience)
		f = appendIf(f, "--oidc-jwks-url=", o.JWKSURL)
		f = appendIf(f, "--oidc-client-id=", o.ClientID)
		f = appendIf(f, "--oidc-introspection-url=", o.IntrospectionURL)
	}
	if te := rc.TokenExchangeConfig; te != nil {
		f = append(f, "--token-exchange-url="+te.TokenURL)
		f = appendIf(f, "--token-exchange-client-id=", te.ClientID)
		f = appendIf(f, "--token-exchange-audience=", te.Audience)
		// One flag a scope: the flag is a list, and repeating it appends.
		for _, sc := range te.Scopes {
			f = append(f, "--token-exchange-scopes="+sc)
		}
		if te.SubjectTokenType != "" {
			f = append(f, "--token-exchange-subject-token-type="+shortTokenType(te.SubjectTokenType))
		}
		f = appendIf(f, "--token-exchange-header-name=", te.ExternalTokenHeaderName)
	}
	f = append(f, rc.Image)
	if len(rc.CmdArgs) > 0 {
		f = append(append(f, "--"), rc.CmdArgs...)
	}
	return f
}

func appendIf(f []string, flag, v string) []string {
	if v == "" {
		return f
	}
	return append(f, flag+v)
}
