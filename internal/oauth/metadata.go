package oauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// MaxMetadataBytes bounds a metadata document.
const MaxMetadataBytes = 1 << 20

const (
	errFmtMetadataTooLarge = "metadata document is larger than %d bytes"
	errDecodeMetadata      = "cannot decode metadata document"
	errNoIssuer            = "metadata document has no issuer"
	errFmtIssuerMismatch   = "metadata issuer %q does not match the expected issuer %q"
	errNoTokenEndpoint     = "metadata document has no token_endpoint"

	wellKnownOAuth  = "/.well-known/oauth-authorization-server"
	wellKnownOpenID = "/.well-known/openid-configuration"
)

// Metadata is the subset of RFC 8414 / OpenID Connect discovery metadata we
// use.
type Metadata struct {
	Issuer                            string   `json:"issuer"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	GrantTypesSupported               []string `json:"grant_types_supported,omitempty"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported,omitempty"`
}

// ParseMetadata decodes a metadata document of at most MaxMetadataBytes,
// checks that its issuer is the expected one and that it names a token
// endpoint. RFC 8414 §3.3 requires the issuer to be identical to the one
// used for discovery, which stops a server from speaking for another issuer;
// we tolerate only a trailing-slash difference, which is common and harmless.
// token_endpoint is not validated as a URL: callers do that with their own
// policy (ParseEndpointURL, HostAllowed).
func ParseMetadata(body []byte, expectedIssuer string) (*Metadata, error) {
	if len(body) > MaxMetadataBytes {
		return nil, fmt.Errorf(errFmtMetadataTooLarge, MaxMetadataBytes)
	}
	m := &Metadata{}
	if err := json.Unmarshal(body, m); err != nil {
		return nil, fmt.Errorf("%s: %w", errDecodeMetadata, err)
	}
	if m.Issuer == "" {
		return nil, errors.New(errNoIssuer)
	}
	if strings.TrimSuffix(m.Issuer, "/") != strings.TrimSuffix(expectedIssuer, "/") {
		return nil, fmt.Errorf(errFmtIssuerMismatch, clean(m.Issuer), clean(expectedIssuer))
	}
	if m.TokenEndpoint == "" {
		return nil, errors.New(errNoTokenEndpoint)
	}
	return m, nil
}

// AdvertisesGrant reports whether grant is in grant_types_supported, and
// whether that list is there at all. An absent or empty list is "not
// listed": RFC 8414 then implies authorization_code and implicit, but many
// servers simply omit it, so callers should treat it as unknown.
func (m *Metadata) AdvertisesGrant(grant string) (advertised, listed bool) {
	if m == nil || len(m.GrantTypesSupported) == 0 {
		return false, false
	}
	for _, g := range m.GrantTypesSupported {
		if g == grant {
			return true, true
		}
	}
	return false, true
}

// DiscoveryURLs returns the metadata URLs to try for an issuer, in order:
// the RFC 8414 URL, with the well-known segment inserted between host and
// issuer path (§3.1), then the OpenID Connect Discovery URL, with the
// well-known segment appended to the issuer. Query and fragment of the
// issuer are ignored. A nil issuer has none.
func DiscoveryURLs(issuer *url.URL) []string {
	if issuer == nil {
		return nil
	}
	base := issuer.Scheme + "://" + issuer.Host
	path := strings.TrimRight(issuer.EscapedPath(), "/")
	return []string{
		base + wellKnownOAuth + path,
		base + path + wellKnownOpenID,
	}
}
