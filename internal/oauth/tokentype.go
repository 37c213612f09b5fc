package oauth

import (
	"fmt"
	"strings"
)

// Grant and token-type identifiers of RFC 8693.
const (
	GrantTypeTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	TokenTypeAccessToken   = "urn:ietf:params:oauth:token-type:access_token"
	TokenTypeIDToken       = "urn:ietf:params:oauth:token-type:id_token"
	TokenTypeJWT           = "urn:ietf:params:oauth:token-type:jwt"
)

const errFmtTokenType = "subject token type %q is not supported: use access_token, id_token, jwt or a token type URN"

// NormalizeSubjectTokenType maps the short forms access_token, id_token and
// jwt to their URNs and returns URNs unchanged; "" means an access token.
// Surrounding whitespace and the case of a short form are ignored. Any URN is
// accepted because RFC 8693 lets servers define their own token types.
func NormalizeSubjectTokenType(s string) (string, error) {
	t := strings.TrimSpace(s)
	switch strings.ToLower(t) {
	case "", "access_token":
		return TokenTypeAccessToken, nil
	case "id_token":
		return TokenTypeIDToken, nil
	case "jwt":
		return TokenTypeJWT, nil
	}
	if isURN(t) {
		return t, nil
	}
	return "", fmt.Errorf(errFmtTokenType, truncate(s, maxShownLen))
}

// isURN is a loose RFC 8141 check: "urn:" then a namespace and a specific
// string, no whitespace or control characters.
func isURN(s string) bool {
	if len(s) < 4 || !strings.EqualFold(s[:4], "urn:") {
		return false
	}
	nid, nss, ok := strings.Cut(s[4:], ":")
	if !ok || nid == "" || nss == "" {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f {
			return false
		}
	}
	return true
}
