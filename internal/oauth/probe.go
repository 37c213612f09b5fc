package oauth

import (
	"encoding/json"
	"fmt"
	"strings"
)

// ProbeSubjectToken is the subject token every probe sends. It is obviously
// not a token, so a server that validates subject tokens must reject it and
// no usable token is obtained for anyone. The '~' keeps it a valid bearer
// token (RFC 6750 b64token) that is neither a JWT nor decodable as base64 of
// any kind, so a server that decodes or decrypts opaque tokens rejects it at
// the first step instead of running its decoder on garbage.
const ProbeSubjectToken = "provider-mcp~verification-probe"

// MaxResponseBytes bounds a token endpoint response we read.
const MaxResponseBytes = 64 << 10

// ProbeRequest is an RFC 8693 request sent with a deliberately invalid
// subject token to find out whether the server accepts the client's
// credentials, without obtaining a real token.
type ProbeRequest struct {
	TokenURL         string
	ClientID         string
	ClientSecret     string // never logged or returned
	Audience         string
	Scopes           []string
	SubjectTokenType string // URN or short form; "" = access_token
}

// Outcome is what a probe found out about the client's credentials.
type Outcome string

// Outcomes of a probe.
const (
	// OutcomeCredentialsAccepted: the client authenticated; the server
	// rejected only the (bogus) subject token or the request's form, or even
	// issued a token.
	OutcomeCredentialsAccepted Outcome = "CredentialsAccepted"
	// OutcomeCredentialsRejected: HTTP 401, or error=invalid_client.
	OutcomeCredentialsRejected Outcome = "CredentialsRejected"
	// OutcomeGrantNotAllowed: error=unauthorized_client; the client is known
	// but may not use token exchange.
	OutcomeGrantNotAllowed Outcome = "GrantNotAllowed"
	// OutcomeGrantUnsupported: error=unsupported_grant_type.
	OutcomeGrantUnsupported Outcome = "GrantUnsupported"
	// OutcomeTargetRejected: error=invalid_target or invalid_scope; the
	// client authenticated, but the server will not issue a token for the
	// requested audience or scopes, so no real exchange would succeed.
	OutcomeTargetRejected Outcome = "TargetRejected"
	// OutcomeServerError: 5xx, a redirect, an unexpected status, or a body
	// that is not an OAuth answer. Inconclusive.
	OutcomeServerError Outcome = "ServerError"
	// OutcomeUnreachable: no HTTP answer (DNS, connect, TLS verification,
	// timeout), or the probe could not be sent at all.
	OutcomeUnreachable Outcome = "Unreachable"
	// OutcomeAddressNotAllowed: not sent, because the server's address is
	// one the client's Networks refuse.
	OutcomeAddressNotAllowed Outcome = "AddressNotAllowed"
)

// ProbeResult is the classified answer of a token endpoint.
type ProbeResult struct {
	Outcome    Outcome
	HTTPStatus int    // 0 when unreachable
	ErrorCode  string // RFC 6749 "error" field when present
	Message    string // one human-readable sentence; never the secret
}

// RFC 6749 §5.2 error codes that decide the outcome on their own.
const (
	codeInvalidClient        = "invalid_client"
	codeUnauthorizedClient   = "unauthorized_client"
	codeUnsupportedGrantType = "unsupported_grant_type"
	codeInvalidScope         = "invalid_scope"
	codeInvalidTarget        = "invalid_target"
)

// acceptedCodes are errors a server can only reach after authenticating the
// client: RFC 6749 §5.2 and RFC 8693 §2.2.2 have the token endpoint check
// client authentication before the grant. invalid_token (RFC 6750) is what
// some servers, Keycloak among them, answer for a bad subject token.
// invalid_scope and invalid_target come after authentication too, but say
// the configuration is wrong: see OutcomeTargetRejected.
var acceptedCodes = map[string]bool{
	"invalid_request":               true,
	"invalid_grant":                 true,
	"invalid_token":                 true,
	"access_denied":                 true,
	"invalid_authorization_details": true,
}

// ParseErrorResponse parses an RFC 6749 §5.2 error body. ok is false when
// the body is not a JSON object with a non-empty string "error". The
// returned strings are as the server sent them (error trimmed); sanitize
// before display.
func ParseErrorResponse(body []byte) (code, description string, ok bool) {
	var r struct {
		Error            json.RawMessage `json:"error"`
		ErrorDescription json.RawMessage `json:"error_description"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return "", "", false
	}
	if err := json.Unmarshal(r.Error, &code); err != nil {
		return "", "", false
	}
	if code = strings.TrimSpace(code); code == "" {
		return "", "", false
	}
	// A description of the wrong type is dropped, not fatal: the code is
	// what matters.
	var d string
	if json.Unmarshal(r.ErrorDescription, &d) == nil {
		description = d
	}
	return code, description, true
}

// ClassifyResponse classifies a token endpoint's answer to a probe. It is
// what Probe uses once it has a status and a body.
func ClassifyResponse(status int, body []byte) ProbeResult {
	return classify(status, body, func(s string) string { return s })
}

// classify is ClassifyResponse with a redactor applied to every piece of
// server text before it is cut to length, so no part of a secret survives.
func classify(status int, body []byte, redact func(string) string) ProbeResult {
	code, desc, ok := ParseErrorResponse(body)
	scrub := func(s string) string { return truncate(redact(sanitize(redact(s))), maxShownLen) }
	r := ProbeResult{HTTPStatus: status}
	if ok {
		r.ErrorCode = scrub(code)
		desc = scrub(desc)
	}
	detail := fmt.Sprintf("HTTP %d", status)
	if r.ErrorCode != "" {
		detail += ", " + r.ErrorCode
		if desc != "" {
			detail += ": " + desc
		}
	}

	switch {
	case status == 401:
		r.Outcome = OutcomeCredentialsRejected
		r.Message = fmt.Sprintf("The authorization server rejected the client credentials (%s).", detail)
	case status == 200 && isTokenResponse(body):
		r.Outcome = OutcomeCredentialsAccepted
		r.Message = "The client credentials were accepted, and the server issued a token for a deliberately invalid subject token (HTTP 200): check that it validates subject tokens."
	case status >= 300 && status < 400:
		r.Outcome = OutcomeServerError
		r.Message = fmt.Sprintf("The token endpoint answered with a redirect (HTTP %d), which is not followed: configure the final token endpoint URL.", status)
	case status >= 500:
		r.Outcome = OutcomeServerError
		r.Message = fmt.Sprintf("The authorization server failed to handle the request (%s); the result is inconclusive.", detail)
	case ok && status >= 200 && status < 500:
		classifyCode(&r, strings.ToLower(r.ErrorCode), detail)
	case status == 404 || status == 405:
		r.Outcome = OutcomeServerError
		r.Message = fmt.Sprintf("The token endpoint answered HTTP %d without an OAuth error response: check the token URL.", status)
	default:
		r.Outcome = OutcomeServerError
		r.Message = fmt.Sprintf("The token endpoint answered HTTP %d without an OAuth token or error response; the result is inconclusive.", status)
	}
	return r
}

func classifyCode(r *ProbeResult, code, detail string) {
	switch {
	case code == codeInvalidClient:
		r.Outcome = OutcomeCredentialsRejected
		r.Message = fmt.Sprintf("The authorization server rejected the client credentials (%s).", detail)
	case code == codeUnauthorizedClient:
		r.Outcome = OutcomeGrantNotAllowed
		r.Message = fmt.Sprintf("The client credentials were accepted, but the client may not use the token exchange grant (%s).", detail)
	case code == codeUnsupportedGrantType:
		r.Outcome = OutcomeGrantUnsupported
		r.Message = fmt.Sprintf("The authorization server does not support the token exchange grant (%s).", detail)
	case code == codeInvalidScope || code == codeInvalidTarget:
		// RFC 8693 §2.2.2: the server will not issue a token for this
		// audience (invalid_target), or these scopes (invalid_scope), to
		// this client. Every real exchange would fail the same way.
		r.Outcome = OutcomeTargetRejected
		r.Message = fmt.Sprintf("The client credentials were accepted, but the server will not issue a token for the requested audience or scopes: check audience and scopes against the client's registration (%s).", detail)
	case acceptedCodes[code]:
		r.Outcome = OutcomeCredentialsAccepted
		r.Message = fmt.Sprintf("The client credentials were accepted; the server rejected only the deliberately invalid subject token (%s).", detail)
	default:
		r.Outcome = OutcomeServerError
		r.Message = fmt.Sprintf("The authorization server answered with an unrecognized error (%s); the result is inconclusive.", detail)
	}
}

// isTokenResponse reports whether body is an RFC 6749 §5.1 success response.
// A 200 with anything else, such as a login page, means the URL is wrong.
func isTokenResponse(body []byte) bool {
	var t struct {
		AccessToken string `json:"access_token"`
	}
	return json.Unmarshal(body, &t) == nil && t.AccessToken != ""
}
