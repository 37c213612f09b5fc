package authserver

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/crossmcp/provider-mcp/test/pki"
)

const (
	grantTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	typeAccessToken    = "urn:ietf:params:oauth:token-type:access_token"
	typeJWT            = "urn:ietf:params:oauth:token-type:jwt"
	typeIDToken        = "urn:ietf:params:oauth:token-type:id_token"
)

func start(t *testing.T, o Options) (*Server, *http.Client) {
	t.Helper()
	s, err := Start(t.Context(), o)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(s.Close)

	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(s.CAPEM) {
		t.Fatal("CAPEM holds no certificate")
	}
	return s, &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// getJSON GETs u and decodes a JSON body (if any) into out.
func getJSON(t *testing.T, c *http.Client, u string, out any) int {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", u, err)
	}
	if out != nil && resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("GET %s: decode %q: %v", u, body, err)
		}
	}
	return resp.StatusCode
}

type auth struct {
	id, secret string
	post       bool // client_secret_post instead of client_secret_basic
}

// postToken POSTs form to the token endpoint and returns the status and the decoded JSON body.
func postToken(t *testing.T, c *http.Client, tokenURL string, a auth, form url.Values) (int, map[string]any) {
	t.Helper()
	form = cloneValues(form)
	if a.post {
		form.Set("client_id", a.id)
		form.Set("client_secret", a.secret)
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if !a.post {
		// RFC 6749 section 2.3.1: form-urlencode id and secret before Basic encoding.
		req.SetBasicAuth(url.QueryEscape(a.id), url.QueryEscape(a.secret))
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", tokenURL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("POST %s: read body: %v", tokenURL, err)
	}
	var out map[string]any
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("POST %s: status %d, decode %q: %v", tokenURL, resp.StatusCode, body, err)
	}
	return resp.StatusCode, out
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

func exchangeForm(subjectToken, subjectTokenType string, extra url.Values) url.Values {
	form := url.Values{
		"grant_type":           {grantTokenExchange},
		"subject_token":        {subjectToken},
		"subject_token_type":   {subjectTokenType},
		"requested_token_type": {typeAccessToken},
	}
	for k, vs := range extra {
		form[k] = vs
	}
	return form
}

// verifiedClaims checks the JWT's signature against the server's JWKS and returns its claims.
func verifiedClaims(t *testing.T, c *http.Client, s *Server, token string) map[string]any {
	t.Helper()
	var disco struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if code := getJSON(t, c, s.Issuer+"/.well-known/openid-configuration", &disco); code != http.StatusOK {
		t.Fatalf("discovery: status %d", code)
	}
	var jwks jose.JSONWebKeySet
	if code := getJSON(t, c, disco.JWKSURI, &jwks); code != http.StatusOK {
		t.Fatalf("jwks: status %d", code)
	}
	jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatalf("parse JWT: %v", err)
	}
	keys := jwks.Key(jws.Signatures[0].Header.KeyID)
	if len(keys) == 0 {
		t.Fatalf("no JWKS key with kid %q", jws.Signatures[0].Header.KeyID)
	}
	payload, err := jws.Verify(keys[0])
	if err != nil {
		t.Fatalf("verify JWT: %v", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatalf("decode claims: %v", err)
	}
	return claims
}

func pick(m map[string]any, keys ...string) map[string]any {
	out := map[string]any{}
	for _, k := range keys {
		if v, ok := m[k]; ok {
			out[k] = v
		}
	}
	return out
}

func TestDiscovery(t *testing.T) {
	s, c := start(t, Options{})
	if !strings.HasPrefix(s.Issuer, "https://127.0.0.1:") {
		t.Errorf("Issuer = %q, want https://127.0.0.1:<port>", s.Issuer)
	}

	var disco struct {
		Issuer              string   `json:"issuer"`
		TokenEndpoint       string   `json:"token_endpoint"`
		GrantTypesSupported []string `json:"grant_types_supported"`
		AuthMethods         []string `json:"token_endpoint_auth_methods_supported"`
	}
	if code := getJSON(t, c, s.Issuer+"/.well-known/openid-configuration", &disco); code != http.StatusOK {
		t.Fatalf("GET openid-configuration: status %d, want 200", code)
	}
	t.Logf("grant_types_supported: %q, token_endpoint_auth_methods_supported: %q", disco.GrantTypesSupported, disco.AuthMethods)

	type view struct {
		Issuer, TokenEndpoint string
		TokenExchange         bool
	}
	want := view{Issuer: s.Issuer, TokenEndpoint: s.TokenURL, TokenExchange: true}
	got := view{disco.Issuer, disco.TokenEndpoint, slices.Contains(disco.GrantTypesSupported, grantTokenExchange)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("discovery (-want +got):\n%s", diff)
	}
}

// TestOAuthAuthorizationServerMetadata documents that zitadel/oidc does not
// serve RFC 8414 metadata: clients must use OpenID discovery.
func TestOAuthAuthorizationServerMetadata(t *testing.T) {
	s, c := start(t, Options{})
	if code := getJSON(t, c, s.Issuer+"/.well-known/oauth-authorization-server", nil); code != http.StatusNotFound {
		t.Errorf("GET oauth-authorization-server: status %d, want 404", code)
	}
}

func TestTokenExchangeErrors(t *testing.T) {
	s, c := start(t, Options{})
	subject, err := s.SubjectToken(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	right := auth{id: s.ClientID, secret: s.ClientSecret}

	type result struct {
		Status int
		Error  any
	}
	tests := map[string]struct {
		auth auth
		form url.Values
		want result
	}{
		"InvalidSubjectToken": {
			auth: right,
			form: exchangeForm("not-a-token", typeAccessToken, nil),
			want: result{http.StatusBadRequest, "invalid_request"},
		},
		"InvalidSubjectTokenAsJWT": {
			auth: right,
			form: exchangeForm("not-a-token", typeJWT, nil),
			want: result{http.StatusBadRequest, "invalid_request"},
		},
		"WrongSecret": {
			auth: auth{id: s.ClientID, secret: "wrong"},
			form: exchangeForm(subject, typeAccessToken, nil),
			want: result{http.StatusUnauthorized, "invalid_client"},
		},
		// op reads client credentials for token exchange only from the
		// Authorization header; client_id/client_secret form fields are ignored.
		"RightSecretPostIsIgnored": {
			auth: auth{id: s.ClientID, secret: s.ClientSecret, post: true},
			form: exchangeForm(subject, typeAccessToken, nil),
			want: result{http.StatusUnauthorized, "invalid_client"},
		},
		"UnknownClient": {
			auth: auth{id: "someone-else", secret: s.ClientSecret},
			form: exchangeForm(subject, typeAccessToken, nil),
			want: result{http.StatusUnauthorized, "invalid_client"},
		},
		// op checks the presence of subject_token before authenticating the client.
		"MissingSubjectTokenWrongSecret": {
			auth: auth{id: s.ClientID, secret: "wrong"},
			form: exchangeForm("", typeAccessToken, nil),
			want: result{http.StatusBadRequest, "invalid_request"},
		},
		"UnsupportedRequestedTokenType": {
			auth: right,
			form: exchangeForm(subject, typeAccessToken, url.Values{"requested_token_type": {typeIDToken}}),
			want: result{http.StatusBadRequest, "invalid_request"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			status, body := postToken(t, c, s.TokenURL, tc.auth, tc.form)
			t.Logf("%d %v", status, body)
			if diff := cmp.Diff(tc.want, result{status, body["error"]}); diff != "" {
				t.Errorf("response (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTokenExchange(t *testing.T) {
	s, c := start(t, Options{})
	right := auth{id: s.ClientID, secret: s.ClientSecret}

	userToken, err := s.SubjectToken(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// A token from a grant over HTTP: client_credentials of the configured client.
	status, cc := postToken(t, c, s.TokenURL, right, url.Values{"grant_type": {"client_credentials"}, "scope": {"openid"}})
	if status != http.StatusOK {
		t.Fatalf("client_credentials: %d %v", status, cc)
	}
	ccToken, _ := cc["access_token"].(string)

	tests := map[string]struct {
		auth     auth
		form     url.Values
		wantResp map[string]any // selected response fields
		wantJWT  map[string]any // selected claims of the issued token
	}{
		"AccessTokenWithAudienceAndScope": {
			auth:     right,
			form:     exchangeForm(userToken, typeAccessToken, url.Values{"audience": {"https://mcp.example.com"}, "scope": {"openid tools:read"}}),
			wantResp: map[string]any{"issued_token_type": typeAccessToken, "token_type": "Bearer", "scope": "openid tools:read"},
			wantJWT: map[string]any{
				"iss": s.Issuer, "sub": s.Subject, "aud": []any{"https://mcp.example.com"},
				"client_id": s.ClientID, "scope": "openid tools:read",
			},
		},
		"SubjectTokenTypeJWTTwoAudiences": {
			auth:     right,
			form:     exchangeForm(userToken, typeJWT, url.Values{"audience": {"a", "b"}}),
			wantResp: map[string]any{"issued_token_type": typeAccessToken, "token_type": "Bearer"},
			wantJWT:  map[string]any{"iss": s.Issuer, "sub": s.Subject, "aud": []any{"a", "b"}, "client_id": s.ClientID},
		},
		"NoAudienceNoRequestedTokenType": {
			auth: right,
			form: url.Values{
				"grant_type": {grantTokenExchange}, "subject_token": {userToken}, "subject_token_type": {typeAccessToken},
			},
			wantResp: map[string]any{"issued_token_type": typeAccessToken, "token_type": "Bearer"},
			wantJWT:  map[string]any{"iss": s.Issuer, "sub": s.Subject, "aud": []any{s.ClientID}, "client_id": s.ClientID},
		},
		"ClientCredentialsSubjectWithActor": {
			auth: right,
			form: exchangeForm(ccToken, typeAccessToken, url.Values{
				"audience": {"downstream"}, "actor_token": {userToken}, "actor_token_type": {typeAccessToken},
			}),
			wantResp: map[string]any{"issued_token_type": typeAccessToken, "token_type": "Bearer"},
			wantJWT: map[string]any{
				"iss": s.Issuer, "sub": s.ClientID, "aud": []any{"downstream"}, "client_id": s.ClientID,
				"act": map[string]any{"sub": s.Subject},
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			status, body := postToken(t, c, s.TokenURL, tc.auth, tc.form)
			if status != http.StatusOK {
				t.Fatalf("status %d, want 200: %v", status, body)
			}
			if diff := cmp.Diff(tc.wantResp, pick(body, "issued_token_type", "token_type", "scope")); diff != "" {
				t.Errorf("response (-want +got):\n%s", diff)
			}
			if _, ok := body["expires_in"].(float64); !ok {
				t.Errorf("expires_in = %v, want a number", body["expires_in"])
			}
			token, _ := body["access_token"].(string)
			claims := verifiedClaims(t, c, s, token)
			t.Logf("issued token claims: %v", claims)
			if diff := cmp.Diff(tc.wantJWT, pick(claims, "iss", "sub", "aud", "client_id", "scope", "act")); diff != "" {
				t.Errorf("issued token claims (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTokenExchangeAllowedAudiences(t *testing.T) {
	s, c := start(t, Options{ClientID: "id with space", ClientSecret: "s3cr:t/+", AllowedAudiences: []string{"good"}})
	subject, err := s.SubjectToken(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	a := auth{id: s.ClientID, secret: s.ClientSecret}

	tests := map[string]struct {
		audience  []string
		wantCode  int
		wantError any
	}{
		"Allowed":    {audience: []string{"good"}, wantCode: http.StatusOK},
		"NotAllowed": {audience: []string{"good", "bad"}, wantCode: http.StatusBadRequest, wantError: "invalid_target"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			status, body := postToken(t, c, s.TokenURL, a, exchangeForm(subject, typeAccessToken, url.Values{"audience": tc.audience}))
			if diff := cmp.Diff([]any{tc.wantCode, tc.wantError}, []any{status, body["error"]}); diff != "" {
				t.Errorf("response (-want +got):\n%s\nbody: %v", diff, body)
			}
		})
	}
}

func TestClose(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	s, err := Start(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	s.Close() // waits for the stop triggered by cancel, or stops itself
	s.Close()
	if _, err := s.SubjectToken(t.Context()); err == nil {
		t.Error("SubjectToken after Close: want error")
	}
	if resp, err := http.Get(s.Issuer + "/healthz"); err == nil {
		_ = resp.Body.Close()
		t.Error("GET after Close: want error")
	}
}

// TestRestartSameCA: a server stopped and started again on its address with
// its CA is the same server to a client that trusts that CA.
func TestRestartSameCA(t *testing.T) {
	ca, err := pki.NewCA("restart test CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	first, c := start(t, Options{CA: ca})
	if code := getJSON(t, c, first.Issuer+"/.well-known/openid-configuration", nil); code != http.StatusOK {
		t.Fatalf("discovery: status %d", code)
	}
	first.Close()
	if resp, err := c.Get(first.Issuer + "/.well-known/openid-configuration"); err == nil {
		_ = resp.Body.Close()
		t.Fatal("GET while stopped: want an error")
	}
	again, _ := start(t, Options{CA: ca, Addr: strings.TrimPrefix(first.Issuer, "https://")})
	var disco struct {
		Issuer        string `json:"issuer"`
		TokenEndpoint string `json:"token_endpoint"`
	}
	if code := getJSON(t, c, again.Issuer+"/.well-known/openid-configuration", &disco); code != http.StatusOK {
		t.Fatalf("discovery after the restart: status %d", code)
	}
	if disco.Issuer != first.Issuer || disco.TokenEndpoint != first.TokenURL || string(again.CAPEM) != string(ca.PEM) {
		t.Errorf("after the restart: issuer %s, token endpoint %s, want %s and %s and the same CA", disco.Issuer, disco.TokenEndpoint, first.Issuer, first.TokenURL)
	}
}

// TestOpaqueSubjectTokens: subject tokens that are not JWTs of this server
// are refused with invalid_request, whatever they are. zitadel's op takes
// any token for one of its opaque tokens, decrypts it (AES-CFB, no
// integrity check) and dereferences nil claims when the garbage holds
// exactly one colon: the handler panicked for about one token, or one
// server key, in forty, and provider-mcp's credential probe sends a fixed
// token. This server issues no opaque tokens and decrypts none.
func TestOpaqueSubjectTokens(t *testing.T) {
	s, c := start(t, Options{})
	a := auth{id: s.ClientID, secret: s.ClientSecret}
	for range 200 {
		// Random bytes: each token its own AES-CFB IV, so its own plaintext.
		b := make([]byte, 23)
		if _, err := rand.Read(b); err != nil {
			t.Fatal(err)
		}
		token := base64.RawURLEncoding.EncodeToString(b)
		status, body := postToken(t, c, s.TokenURL, a, exchangeForm(token, typeAccessToken, nil))
		if status != http.StatusBadRequest || body["error"] != "invalid_request" {
			t.Fatalf("subject token %q: status %d, body %v; want 400 invalid_request", token, status, body)
		}
	}
}

// TestDemoLogin proves /demo/token answers a user's signed access token only
// when DemoLogin is on, and needs a subject.
func TestDemoLogin(t *testing.T) {
	post := func(c *http.Client, s *Server, form url.Values) (int, string) {
		resp, err := c.PostForm(s.Issuer+"/demo/token", form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var tr struct {
			AccessToken string `json:"access_token"`
		}
		if json.Unmarshal(b, &tr) == nil && tr.AccessToken != "" {
			return resp.StatusCode, tr.AccessToken
		}
		return resp.StatusCode, string(b)
	}
	s, c := start(t, Options{DemoLogin: true})
	code, tok := post(c, s, url.Values{"sub": {"alice"}, "aud": {"mcp-fetch"}, "scope": {"read", "write"}})
	if code != http.StatusOK {
		t.Fatalf("POST /demo/token: %d %s", code, tok)
	}
	want := map[string]any{"iss": s.Issuer, "sub": "alice", "aud": []any{"mcp-fetch"}, "scope": "read write", "client_id": s.ClientID}
	if diff := cmp.Diff(want, pick(verifiedClaims(t, c, s, tok), "iss", "sub", "aud", "scope", "client_id")); diff != "" {
		t.Errorf("demo token claims: -want, +got:\n%s", diff)
	}
	if code, _ := post(c, s, url.Values{"aud": {"x"}}); code != http.StatusBadRequest {
		t.Errorf("without sub: status %d, want 400", code)
	}
	off, oc := start(t, Options{})
	if code, _ := post(oc, off, url.Values{"sub": {"alice"}}); code == http.StatusOK {
		t.Error("DemoLogin off: /demo/token answered a token")
	}
}
