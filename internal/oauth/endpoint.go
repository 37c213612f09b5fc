package oauth

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Endpoint URL errors. Each names the URL (password redacted) and says what
// to change; callers prefix what the URL is for, e.g. "token " or "issuer ".
const (
	errURLEmpty          = "URL must not be empty"
	errFmtURLSpace       = "URL %q must not have leading or trailing whitespace"
	errFmtURLParse       = "URL %q is not valid: %w"
	errFmtURLNotAbsolute = "URL %q must be absolute, like https://auth.example.com/token"
	errFmtURLHTTP        = "URL %q must use https (set insecureAllowHTTP to allow http)"
	errFmtURLScheme      = "URL %q must use https, not %q"
	errFmtURLNoHost      = "URL %q must have a host"
	errFmtURLUserInfo    = "URL %q must not contain user info (credentials belong in a secret)"
	errFmtURLFragment    = "URL %q must not have a fragment"
)

// ParseEndpointURL parses and validates an endpoint URL (token URL, issuer
// URL): absolute, scheme https (or http only when allowHTTP), a host, no user
// info and no fragment. Errors start with `URL "<url>"` so a caller can say
// which URL it was: fmt.Errorf("token %w", err) reads `token URL "..." must
// use https (...)`.
func ParseEndpointURL(raw string, allowHTTP bool) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New(errURLEmpty)
	}
	shown := displayURL(raw)
	if strings.TrimSpace(raw) != raw {
		return nil, fmt.Errorf(errFmtURLSpace, shown)
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error repeats the whole URL, password included.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf(errFmtURLParse, shown, err)
	}
	if u.User != nil {
		return nil, fmt.Errorf(errFmtURLUserInfo, shown)
	}
	if !u.IsAbs() {
		return nil, fmt.Errorf(errFmtURLNotAbsolute, shown)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !allowHTTP {
			return nil, fmt.Errorf(errFmtURLHTTP, shown)
		}
	default:
		return nil, fmt.Errorf(errFmtURLScheme, shown, u.Scheme)
	}
	if u.Opaque != "" || u.Hostname() == "" {
		return nil, fmt.Errorf(errFmtURLNoHost, shown)
	}
	// url.Parse drops an empty fragment, so look at the raw string: '#' can
	// only appear unescaped as the fragment separator.
	if strings.Contains(raw, "#") {
		return nil, fmt.Errorf(errFmtURLFragment, shown)
	}
	return u, nil
}

// HostAllowed reports whether the URL's host matches an allow-list. An empty
// list allows every host; a nil URL is never allowed. Patterns are an exact
// host ("auth.example.com"), a host and port ("auth.example.com:8443", the
// URL's default port counts), or a leading wildcard label ("*.example.com"
// matches any subdomain, at any depth, but not example.com itself). Matching
// is case-insensitive and ignores a trailing dot. Other wildcards, including
// a lone "*", match nothing: an allow-list that allows everything is written
// as an empty list.
func HostAllowed(u *url.URL, allow []string) bool {
	if u == nil {
		return false
	}
	if len(allow) == 0 {
		return true
	}
	host := normalizeHost(u.Hostname())
	port := u.Port()
	if port == "" {
		port = defaultPort(u.Scheme)
	}
	for _, p := range allow {
		if hostMatches(host, port, p) {
			return true
		}
	}
	return false
}

func hostMatches(host, port, pattern string) bool {
	ph, pp := splitPattern(strings.TrimSpace(pattern))
	ph = normalizeHost(ph)
	if ph == "" || host == "" {
		return false
	}
	if pp != "" && pp != port {
		return false
	}
	suffix, wild := strings.CutPrefix(ph, "*")
	if !wild {
		return !strings.Contains(ph, "*") && ph == host
	}
	// Only a whole leading label may be a wildcard, and never for an IP.
	if !strings.HasPrefix(suffix, ".") || len(suffix) < 2 || strings.Contains(suffix, "*") || net.ParseIP(host) != nil {
		return false
	}
	return len(host) > len(suffix) && strings.HasSuffix(host, suffix)
}

// splitPattern splits "host:port", "[v6]:port", "[v6]", "v6" or "host".
func splitPattern(p string) (host, port string) {
	if h, pt, err := net.SplitHostPort(p); err == nil {
		return h, pt
	}
	return strings.TrimSuffix(strings.TrimPrefix(p, "["), "]"), ""
}

func normalizeHost(h string) string {
	return strings.TrimSuffix(strings.ToLower(h), ".")
}

func defaultPort(scheme string) string {
	switch strings.ToLower(scheme) {
	case "https":
		return "443"
	case "http":
		return "80"
	}
	return ""
}

// SameEndpoint compares two endpoint URLs ignoring trailing slashes in the
// path, the case of scheme and host, and an explicit default port. Query and
// fragment must match exactly. Strings that are not absolute URLs are
// compared as they are.
func SameEndpoint(a, b string) bool {
	na, okA := normalizeEndpoint(a)
	nb, okB := normalizeEndpoint(b)
	if !okA || !okB {
		return a == b
	}
	return na == nb
}

func normalizeEndpoint(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if port == defaultPort(scheme) {
		port = ""
	}
	switch {
	case port != "":
		host = net.JoinHostPort(host, port)
	case strings.Contains(host, ":"):
		host = "[" + host + "]"
	}
	var b strings.Builder
	b.WriteString(scheme + "://")
	if u.User != nil {
		b.WriteString(u.User.String() + "@")
	}
	b.WriteString(host)
	b.WriteString(strings.TrimRight(u.EscapedPath(), "/"))
	if u.RawQuery != "" {
		b.WriteString("?" + u.RawQuery)
	}
	if u.Fragment != "" {
		b.WriteString("#" + u.EscapedFragment())
	}
	return b.String(), true
}
