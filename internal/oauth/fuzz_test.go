package oauth

import (
	"strings"
	"testing"
	"unicode/utf8"
)

var knownOutcomes = map[Outcome]bool{
	OutcomeCredentialsAccepted: true,
	OutcomeCredentialsRejected: true,
	OutcomeGrantNotAllowed:     true,
	OutcomeGrantUnsupported:    true,
	OutcomeServerError:         true,
	OutcomeUnreachable:         true,
	OutcomeAddressNotAllowed:   true,
}

func FuzzParseMetadata(f *testing.F) {
	f.Add([]byte(`{"issuer":"https://auth.example.com","token_endpoint":"https://auth.example.com/token","grant_types_supported":["`+GrantTypeTokenExchange+`"]}`), "https://auth.example.com")
	f.Add([]byte(`{"issuer":"https://auth.example.com/realms/mcp/","token_endpoint":"https://auth.example.com/realms/mcp/protocol/openid-connect/token","token_endpoint_auth_methods_supported":["client_secret_basic","private_key_jwt"]}`), "https://auth.example.com/realms/mcp")
	f.Add([]byte(`{"issuer":"https://evil.example.com","token_endpoint":"x"}`), "https://auth.example.com")
	f.Add([]byte(`<!doctype html><html></html>`), "https://auth.example.com")
	f.Add([]byte(`{"issuer":"\u0000\n","grant_types_supported":[1]}`), "")
	f.Fuzz(func(t *testing.T, body []byte, issuer string) {
		m, err := ParseMetadata(body, issuer)
		if (m == nil) == (err == nil) {
			t.Fatalf("want exactly one of metadata and error, got %v and %v", m, err)
		}
		if err != nil {
			if strings.ContainsAny(err.Error(), "\r\n") {
				t.Errorf("error spans lines: %q", err)
			}
			return
		}
		if m.Issuer == "" || m.TokenEndpoint == "" {
			t.Errorf("accepted metadata without issuer or token endpoint: %+v", m)
		}
		if strings.TrimSuffix(m.Issuer, "/") != strings.TrimSuffix(issuer, "/") {
			t.Errorf("accepted issuer %q for %q", m.Issuer, issuer)
		}
	})
}

func FuzzParseErrorResponse(f *testing.F) {
	f.Add([]byte(`{"error":"invalid_client","error_description":"Invalid client or Invalid client credentials"}`))
	f.Add([]byte(`{"error":"invalid_grant","error_description":"subject_token validation failed"}`))
	f.Add([]byte(`{"error":"unauthorized_client","error_uri":"https://x"}`))
	f.Add([]byte(`{"error":12}`))
	f.Add([]byte(`Bad Request`))
	f.Fuzz(func(t *testing.T, body []byte) {
		code, desc, ok := ParseErrorResponse(body)
		if !ok && (code != "" || desc != "") {
			t.Errorf("not ok but got %q, %q", code, desc)
		}
		if ok && strings.TrimSpace(code) == "" {
			t.Errorf("ok with an empty code")
		}
	})
}

func FuzzClassifyResponse(f *testing.F) {
	f.Add(400, []byte(`{"error":"invalid_client","error_description":"Client authentication failed"}`))
	f.Add(401, []byte(``))
	f.Add(400, []byte(`{"error":"invalid_grant","error_description":"Invalid token"}`))
	f.Add(400, []byte(`{"error":"unsupported_grant_type"}`))
	f.Add(200, []byte(`{"access_token":"x","issued_token_type":"`+TokenTypeAccessToken+`","token_type":"N_A"}`))
	f.Add(503, []byte(`<html>Service Unavailable</html>`))
	f.Add(-1, []byte(`{"error":"\u202e\n"}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		r := ClassifyResponse(status, body)
		if !knownOutcomes[r.Outcome] || r.Outcome == OutcomeUnreachable {
			t.Errorf("unexpected outcome %q", r.Outcome)
		}
		if r.HTTPStatus != status {
			t.Errorf("status: want %d, got %d", status, r.HTTPStatus)
		}
		if r.Message == "" || !utf8.ValidString(r.Message) || strings.ContainsAny(r.Message, "\r\n\t\x00") {
			t.Errorf("bad message %q", r.Message)
		}
		// Two quoted pieces of server text at most, plus our own sentence.
		if n := utf8.RuneCountInString(r.Message); n > 2*maxShownLen+300 {
			t.Errorf("message too long: %d runes", n)
		}
		if utf8.RuneCountInString(r.ErrorCode) > maxShownLen+3 || strings.ContainsAny(r.ErrorCode, "\r\n\t\x00") {
			t.Errorf("bad error code %q", r.ErrorCode)
		}
	})
}
