package oauth

import (
	"encoding/base64"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseErrorResponse(t *testing.T) {
	type want struct {
		code, description string
		ok                bool
	}
	cases := map[string]struct {
		reason string
		args   string
		want   want
	}{
		"Full":             {reason: "Code and description are returned.", args: `{"error":"invalid_grant","error_description":"Invalid token","error_uri":"https://x"}`, want: want{code: "invalid_grant", description: "Invalid token", ok: true}},
		"NoDescription":    {reason: "The description is optional.", args: `{"error":"invalid_client"}`, want: want{code: "invalid_client", ok: true}},
		"CodeTrimmed":      {reason: "Whitespace around the code is trimmed.", args: `{"error":" invalid_client\n"}`, want: want{code: "invalid_client", ok: true}},
		"DescriptionType":  {reason: "A description of the wrong type is dropped.", args: `{"error":"invalid_grant","error_description":42}`, want: want{code: "invalid_grant", ok: true}},
		"Escapes":          {reason: "JSON escapes are decoded.", args: `{"error":"invalid_grant","error_description":"caf\u00e9 \"x\""}`, want: want{code: "invalid_grant", description: `café "x"`, ok: true}},
		"NoError":          {reason: "A body without error is not an error response.", args: `{"error_description":"x"}`, want: want{}},
		"EmptyError":       {reason: "An empty error is not an error response.", args: `{"error":"  "}`, want: want{}},
		"ErrorNotString":   {reason: "A non-string error is not an error response.", args: `{"error":{"code":1}}`, want: want{}},
		"ErrorNull":        {reason: "A null error is not an error response.", args: `{"error":null}`, want: want{}},
		"NotJSON":          {reason: "HTML is not an error response.", args: `<h1>Bad Request</h1>`, want: want{}},
		"Array":            {reason: "A JSON array is not an error response.", args: `["error"]`, want: want{}},
		"Empty":            {reason: "An empty body is not an error response.", args: ``, want: want{}},
		"TrailingGarbage":  {reason: "Trailing garbage makes it invalid JSON.", args: `{"error":"invalid_grant"} x`, want: want{}},
		"AccessTokenIsNot": {reason: "A token response is not an error response.", args: `{"access_token":"x","token_type":"Bearer"}`, want: want{}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c, d, ok := ParseErrorResponse([]byte(tc.args))
			if diff := cmp.Diff(tc.want, want{code: c, description: d, ok: ok}, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("\n%s\nParseErrorResponse(%q): -want, +got:\n%s", tc.reason, tc.args, diff)
			}
		})
	}
}

func TestClassifyResponse(t *testing.T) {
	type args struct {
		status int
		body   string
	}
	cases := map[string]struct {
		reason string
		args   args
		want   ProbeResult
	}{
		"InvalidClient400": {
			reason: "error=invalid_client means the credentials were rejected.",
			args:   args{status: 400, body: `{"error":"invalid_client","error_description":"Invalid client or Invalid client credentials"}`},
			want: ProbeResult{
				Outcome: OutcomeCredentialsRejected, HTTPStatus: 400, ErrorCode: "invalid_client",
				Message: "The authorization server rejected the client credentials (HTTP 400, invalid_client: Invalid client or Invalid client credentials).",
			},
		},
		"Unauthorized401NoBody": {
			reason: "A 401 means the credentials were rejected, body or not.",
			args:   args{status: 401},
			want: ProbeResult{
				Outcome: OutcomeCredentialsRejected, HTTPStatus: 401,
				Message: "The authorization server rejected the client credentials (HTTP 401).",
			},
		},
		"Unauthorized401OtherCode": {
			reason: "A 401 wins over the error code.",
			args:   args{status: 401, body: `{"error":"invalid_grant"}`},
			want: ProbeResult{
				Outcome: OutcomeCredentialsRejected, HTTPStatus: 401, ErrorCode: "invalid_grant",
				Message: "The authorization server rejected the client credentials (HTTP 401, invalid_grant).",
			},
		},
		"InvalidGrant": {
			reason: "invalid_grant means only the bogus subject token was rejected.",
			args:   args{status: 400, body: `{"error":"invalid_grant","error_description":"subject token is invalid"}`},
			want: ProbeResult{
				Outcome: OutcomeCredentialsAccepted, HTTPStatus: 400, ErrorCode: "invalid_grant",
				Message: "The client credentials were accepted; the server rejected only the deliberately invalid subject token (HTTP 400, invalid_grant: subject token is invalid).",
			},
		},
		"InvalidRequest": {
			reason: "invalid_request comes after client authentication.",
			args:   args{status: 400, body: `{"error":"invalid_request"}`},
			want: ProbeResult{
				Outcome: OutcomeCredentialsAccepted, HTTPStatus: 400, ErrorCode: "invalid_request",
				Message: "The client credentials were accepted; the server rejected only the deliberately invalid subject token (HTTP 400, invalid_request).",
			},
		},
		"InvalidTokenUpperCase403": {
			reason: "Codes match case-insensitively, on any 4xx but 401.",
			args:   args{status: 403, body: `{"error":"INVALID_TOKEN"}`},
			want: ProbeResult{
				Outcome: OutcomeCredentialsAccepted, HTTPStatus: 403, ErrorCode: "INVALID_TOKEN",
				Message: "The client credentials were accepted; the server rejected only the deliberately invalid subject token (HTTP 403, INVALID_TOKEN).",
			},
		},
		"InvalidTarget": {
			reason: "invalid_target means the credentials were accepted but no token will be issued for the audience.",
			args:   args{status: 400, body: `{"error":"invalid_target","error_description":"unknown audience"}`},
			want: ProbeResult{
				Outcome: OutcomeTargetRejected, HTTPStatus: 400, ErrorCode: "invalid_target",
				Message: "The client credentials were accepted, but the server will not issue a token for the requested audience or scopes: check audience and scopes against the client's registration (HTTP 400, invalid_target: unknown audience).",
			},
		},
		"InvalidScope": {
			reason: "invalid_scope means the credentials were accepted but no token will be issued for the scopes.",
			args:   args{status: 400, body: `{"error":"invalid_scope"}`},
			want: ProbeResult{
				Outcome: OutcomeTargetRejected, HTTPStatus: 400, ErrorCode: "invalid_scope",
				Message: "The client credentials were accepted, but the server will not issue a token for the requested audience or scopes: check audience and scopes against the client's registration (HTTP 400, invalid_scope).",
			},
		},
		"UnauthorizedClient": {
			reason: "unauthorized_client means the client may not use token exchange.",
			args:   args{status: 400, body: `{"error":"unauthorized_client","error_description":"Client not allowed to exchange"}`},
			want: ProbeResult{
				Outcome: OutcomeGrantNotAllowed, HTTPStatus: 400, ErrorCode: "unauthorized_client",
				Message: "The client credentials were accepted, but the client may not use the token exchange grant (HTTP 400, unauthorized_client: Client not allowed to exchange).",
			},
		},
		"UnsupportedGrantType": {
			reason: "unsupported_grant_type means the server has no token exchange.",
			args:   args{status: 400, body: `{"error":"unsupported_grant_type"}`},
			want: ProbeResult{
				Outcome: OutcomeGrantUnsupported, HTTPStatus: 400, ErrorCode: "unsupported_grant_type",
				Message: "The authorization server does not support the token exchange grant (HTTP 400, unsupported_grant_type).",
			},
		},
		"UnknownCode": {
			reason: "An unknown error code is inconclusive.",
			args:   args{status: 400, body: `{"error":"something_else"}`},
			want: ProbeResult{
				Outcome: OutcomeServerError, HTTPStatus: 400, ErrorCode: "something_else",
				Message: "The authorization server answered with an unrecognized error (HTTP 400, something_else); the result is inconclusive.",
			},
		},
		"TokenIssued": {
			reason: "A token for a bogus subject means the credentials were accepted, and is worth a warning.",
			args:   args{status: 200, body: `{"access_token":"eyJ...","issued_token_type":"` + TokenTypeAccessToken + `","token_type":"Bearer"}`},
			want: ProbeResult{
				Outcome: OutcomeCredentialsAccepted, HTTPStatus: 200,
				Message: "The client credentials were accepted, and the server issued a token for a deliberately invalid subject token (HTTP 200): check that it validates subject tokens.",
			},
		},
		"LoginPage200": {
			reason: "A 200 that is not a token response is inconclusive.",
			args:   args{status: 200, body: `<html>Sign in</html>`},
			want: ProbeResult{
				Outcome: OutcomeServerError, HTTPStatus: 200,
				Message: "The token endpoint answered HTTP 200 without an OAuth token or error response; the result is inconclusive.",
			},
		},
		"Error200": {
			reason: "A 200 with an error body is classified by its code.",
			args:   args{status: 200, body: `{"error":"invalid_client"}`},
			want: ProbeResult{
				Outcome: OutcomeCredentialsRejected, HTTPStatus: 200, ErrorCode: "invalid_client",
				Message: "The authorization server rejected the client credentials (HTTP 200, invalid_client).",
			},
		},
		"Redirect": {
			reason: "A redirect is inconclusive.",
			args:   args{status: 302},
			want: ProbeResult{
				Outcome: OutcomeServerError, HTTPStatus: 302,
				Message: "The token endpoint answered with a redirect (HTTP 302), which is not followed: configure the final token endpoint URL.",
			},
		},
		"ServerError": {
			reason: "A 5xx is inconclusive, whatever the body says.",
			args:   args{status: 500, body: `{"error":"invalid_client","error_description":"db down"}`},
			want: ProbeResult{
				Outcome: OutcomeServerError, HTTPStatus: 500, ErrorCode: "invalid_client",
				Message: "The authorization server failed to handle the request (HTTP 500, invalid_client: db down); the result is inconclusive.",
			},
		},
		"BadGateway": {
			reason: "A 5xx without body is inconclusive.",
			args:   args{status: 502, body: `<html>Bad Gateway</html>`},
			want: ProbeResult{
				Outcome: OutcomeServerError, HTTPStatus: 502,
				Message: "The authorization server failed to handle the request (HTTP 502); the result is inconclusive.",
			},
		},
		"NotFound": {
			reason: "A 404 without OAuth body points at the token URL.",
			args:   args{status: 404, body: `404 page not found`},
			want: ProbeResult{
				Outcome: OutcomeServerError, HTTPStatus: 404,
				Message: "The token endpoint answered HTTP 404 without an OAuth error response: check the token URL.",
			},
		},
		"NonJSON400": {
			reason: "A 400 without OAuth body is inconclusive.",
			args:   args{status: 400, body: `Bad Request`},
			want: ProbeResult{
				Outcome: OutcomeServerError, HTTPStatus: 400,
				Message: "The token endpoint answered HTTP 400 without an OAuth token or error response; the result is inconclusive.",
			},
		},
		"Informational": {
			reason: "An impossible status is inconclusive.",
			args:   args{status: 100, body: `{"error":"invalid_client"}`},
			want: ProbeResult{
				Outcome: OutcomeServerError, HTTPStatus: 100, ErrorCode: "invalid_client",
				Message: "The token endpoint answered HTTP 100 without an OAuth token or error response; the result is inconclusive.",
			},
		},
		"HostileDescription": {
			reason: "A description is stripped of control characters and cut to 200 characters.",
			args:   args{status: 400, body: `{"error":"invalid_grant\u0007","error_description":"line1\r\nline2\u202e\t` + strings.Repeat("é", 250) + `"}`},
			want: ProbeResult{
				Outcome: OutcomeCredentialsAccepted, HTTPStatus: 400, ErrorCode: "invalid_grant",
				Message: "The client credentials were accepted; the server rejected only the deliberately invalid subject token (HTTP 400, invalid_grant: line1 line2 " + strings.Repeat("é", 188) + "...).",
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := ClassifyResponse(tc.args.status, []byte(tc.args.body))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("\n%s\nClassifyResponse(%d, %q): -want, +got:\n%s", tc.reason, tc.args.status, tc.args.body, diff)
			}
		})
	}
}

func TestProbeSubjectTokenShape(t *testing.T) {
	// RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
	b64token := regexp.MustCompile(`^[A-Za-z0-9\-._~+/]+=*$`)
	if !b64token.MatchString(ProbeSubjectToken) {
		t.Errorf("%q is not a syntactically valid bearer token", ProbeSubjectToken)
	}
	if strings.Contains(ProbeSubjectToken, ".") {
		t.Errorf("%q looks like a JWT or JWE to a server that splits on dots", ProbeSubjectToken)
	}
	for name, enc := range map[string]*base64.Encoding{
		"StdEncoding":    base64.StdEncoding,
		"RawStdEncoding": base64.RawStdEncoding,
		"URLEncoding":    base64.URLEncoding,
		"RawURLEncoding": base64.RawURLEncoding,
	} {
		if _, err := enc.DecodeString(ProbeSubjectToken); err == nil {
			t.Errorf("%q decodes with base64.%s: a server that decrypts opaque tokens would try to", ProbeSubjectToken, name)
		}
	}
}
