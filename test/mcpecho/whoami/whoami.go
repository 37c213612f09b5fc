// Package whoami reads what a request reached an MCP server with: the claims
// of each bearer token in its headers. It is what mcpecho's tool answers,
// and what tests and `local call` read back.
package whoami

import (
	"net/http"
	"strings"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// ToolName is the tool mcpecho serves.
const ToolName = "whoami"

// Claims are the claims of a token that say whose it is and for what.
type Claims struct {
	Issuer   string   `json:"iss,omitempty"`
	Subject  string   `json:"sub,omitempty"`
	Audience []string `json:"aud,omitempty"`
	Scope    string   `json:"scope,omitempty"`
	ClientID string   `json:"client_id,omitempty"`
}

// token is how a JWT carries them: aud may be a string or a list.
type token struct {
	Claims
	Audience jwt.Audience `json:"aud,omitempty"`
}

// Report is the bearer tokens a request carried, by header name
// (canonical form). A header whose bearer value is no JWT maps to nil.
type Report struct {
	Tokens map[string]*Claims `json:"tokens"`
}

var algs = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.ES256, jose.ES384, jose.ES512, jose.PS256, jose.EdDSA, jose.HS256}

// FromHeader reports the bearer tokens in h. The claims are read without
// verifying signatures: the report says what arrived, not whether to trust
// it.
func FromHeader(h http.Header) Report {
	r := Report{Tokens: map[string]*Claims{}}
	for name, vs := range h {
		for _, v := range vs {
			scheme, tok, ok := strings.Cut(v, " ")
			if !ok || !strings.EqualFold(scheme, "Bearer") {
				continue
			}
			r.Tokens[http.CanonicalHeaderKey(name)] = claims(strings.TrimSpace(tok))
		}
	}
	return r
}

func claims(tok string) *Claims {
	t, err := jwt.ParseSigned(tok, algs)
	if err != nil {
		return nil
	}
	c := &token{}
	if err := t.UnsafeClaimsWithoutVerification(c); err != nil {
		return nil
	}
	c.Claims.Audience = c.Audience
	return &c.Claims
}
