package oauth

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const (
	// Ids and secrets with characters that Basic auth must escape.
	testClientID     = "mcp client:1%"
	testClientSecret = "s3:cr%et with space"
)

// metadataHandler serves documents at the given paths and 404 elsewhere.
func metadataHandler(docs map[string]func() any) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		doc, ok := docs[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		switch d := doc().(type) {
		case string:
			_, _ = w.Write([]byte(d))
		default:
			w.Header().Set(headerCT, mediaJSON)
			_ = json.NewEncoder(w).Encode(d)
		}
	})
}

func TestDiscover(t *testing.T) {
	type want struct {
		md  *Metadata
		url string
		err string
	}
	// Each case gets the server's URL, since documents must name it.
	cases := map[string]struct {
		reason string
		path   string
		docs   func(issuer string) map[string]func() any
		want   func(issuer string) want
	}{
		"RFC8414": {
			reason: "The RFC 8414 document, with the well-known segment before the issuer path, comes first.",
			path:   "/realms/mcp",
			docs: func(iss string) map[string]func() any {
				return map[string]func() any{
					wellKnownOAuth + "/realms/mcp": func() any {
						return Metadata{Issuer: iss, TokenEndpoint: iss + "/token", GrantTypesSupported: []string{GrantTypeTokenExchange}}
					},
					"/realms/mcp" + wellKnownOpenID: func() any { return Metadata{Issuer: iss, TokenEndpoint: iss + "/other"} },
				}
			},
			want: func(iss string) want {
				u, _ := url.Parse(iss)
				return want{
					md:  &Metadata{Issuer: iss, TokenEndpoint: iss + "/token", GrantTypesSupported: []string{GrantTypeTokenExchange}},
					url: u.Scheme + "://" + u.Host + wellKnownOAuth + "/realms/mcp",
				}
			},
		},
		"OpenIDFallback": {
			reason: "Without an RFC 8414 document, the OpenID one is used.",
			path:   "/realms/mcp/",
			docs: func(iss string) map[string]func() any {
				return map[string]func() any{
					"/realms/mcp" + wellKnownOpenID: func() any { return Metadata{Issuer: iss, TokenEndpoint: iss + "token"} },
				}
			},
			want: func(iss string) want {
				return want{
					md:  &Metadata{Issuer: iss, TokenEndpoint: iss + "token"},
					url: strings.TrimSuffix(iss, "/") + wellKnownOpenID,
				}
			},
		},
		"HTMLThenOpenID": {
			reason: "A 200 that is not metadata, like a single-page app's index, moves on.",
			docs: func(iss string) map[string]func() any {
				return map[string]func() any{
					wellKnownOAuth:  func() any { return "<html></html>" },
					wellKnownOpenID: func() any { return Metadata{Issuer: iss, TokenEndpoint: iss + "/token"} },
				}
			},
			want: func(iss string) want {
				return want{md: &Metadata{Issuer: iss, TokenEndpoint: iss + "/token"}, url: iss + wellKnownOpenID}
			},
		},
		"IssuerMismatch": {
			reason: "Documents for another issuer are refused, and the error says so for each URL.",
			docs: func(string) map[string]func() any {
				evil := func() any {
					return Metadata{Issuer: "https://evil.example.com", TokenEndpoint: "https://evil.example.com/token"}
				}
				return map[string]func() any{wellKnownOAuth: evil, wellKnownOpenID: evil}
			},
			want: func(iss string) want {
				m := fmt.Sprintf(`metadata issuer "https://evil.example.com" does not match the expected issuer %q`, iss)
				return want{err: fmt.Sprintf("cannot discover authorization server metadata: %s%s: %s; %s%s: %s", iss, wellKnownOAuth, m, iss, wellKnownOpenID, m)}
			},
		},
		"All404": {
			reason: "When nothing is found, the error lists each URL's status.",
			path:   "/tenant",
			docs:   func(string) map[string]func() any { return nil },
			want: func(iss string) want {
				base := strings.TrimSuffix(iss, "/tenant")
				return want{err: fmt.Sprintf("cannot discover authorization server metadata: %s%s/tenant: HTTP 404; %s/tenant%s: HTTP 404", base, wellKnownOAuth, base, wellKnownOpenID)}
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var docs map[string]func() any
			srv, ca := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				metadataHandler(docs).ServeHTTP(w, r)
			}))
			iss := srv.URL + tc.path
			docs = tc.docs(iss)
			u, err := url.Parse(iss)
			if err != nil {
				t.Fatal(err)
			}
			md, from, err := newVerifier(t, ca).Discover(context.Background(), u)
			got := want{md: md, url: from, err: errString(err)}
			if diff := cmp.Diff(tc.want(iss), got, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("\n%s\nDiscover(%q): -want, +got:\n%s", tc.reason, iss, diff)
			}
		})
	}
}

func TestDiscoverRedirect(t *testing.T) {
	srv, ca := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://login.example.com/", http.StatusMovedPermanently)
	}))
	u, _ := url.Parse(srv.URL)
	_, _, err := newVerifier(t, ca).Discover(context.Background(), u)
	want := fmt.Sprintf(`cannot discover authorization server metadata: %s%s: HTTP 301 (redirect to "https://login.example.com/" not followed); %s%s: HTTP 301 (redirect to "https://login.example.com/" not followed)`,
		srv.URL, wellKnownOAuth, srv.URL, wellKnownOpenID)
	if diff := cmp.Diff(want, errString(err)); diff != "" {
		t.Errorf("Discover: -want, +got:\n%s", diff)
	}
}

func TestDiscoverErrors(t *testing.T) {
	refused := closedAddr(t)
	canceled, cancel := context.WithCancel(context.Background())
	cancel()

	cases := map[string]struct {
		reason string
		ctx    context.Context
		issuer string
		want   string
	}{
		"NilIssuer": {
			reason: "A nil issuer is an error.",
			ctx:    context.Background(),
			want:   "no issuer URL given",
		},
		"Refused": {
			reason: "Transport errors are described per URL without repeating Go's wrapping.",
			ctx:    context.Background(),
			issuer: "http://" + refused,
			want: fmt.Sprintf("cannot discover authorization server metadata: http://%s%s: connection refused; http://%s%s: connection refused",
				refused, wellKnownOAuth, refused, wellKnownOpenID),
		},
		"Canceled": {
			reason: "A canceled context stops discovery.",
			ctx:    canceled,
			issuer: "http://" + refused,
			want:   "cannot discover authorization server metadata: context canceled",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var u *url.URL
			if tc.issuer != "" {
				u, _ = url.Parse(tc.issuer)
			}
			c, err := NewHTTPClient(nil, 0, "", PrivateAllowed)
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = (&Verifier{HTTP: c}).Discover(tc.ctx, u)
			if diff := cmp.Diff(tc.want, errString(err)); diff != "" {
				t.Errorf("\n%s\nDiscover: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

// closedAddr returns a local address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// received is what a token endpoint saw of a probe.
type received struct {
	Method      string
	ContentType string
	Accept      string
	Form        url.Values
	BasicID     string
	BasicSecret string
	HasAuth     bool
}

func recordProbe(r *http.Request) received {
	got := received{Method: r.Method, ContentType: r.Header.Get(headerCT), Accept: r.Header.Get(headerAccept)}
	_ = r.ParseForm()
	got.Form = r.PostForm
	if id, secret, ok := r.BasicAuth(); ok {
		got.HasAuth = true
		got.BasicID, _ = url.QueryUnescape(id)
		got.BasicSecret, _ = url.QueryUnescape(secret)
	}
	return got
}

func TestProbeRequest(t *testing.T) {
	cases := map[string]struct {
		reason string
		args   ProbeRequest
		want   received
	}{
		"ClientSecretBasic": {
			reason: "With id and secret the client authenticates with escaped HTTP Basic, and the form has no credentials.",
			args: ProbeRequest{
				ClientID: testClientID, ClientSecret: testClientSecret,
				Audience: "https://mcp.example.com", Scopes: []string{"read", " ", "write"}, SubjectTokenType: "id_token",
			},
			want: received{
				Method: http.MethodPost, ContentType: mediaForm, Accept: mediaJSON,
				Form: url.Values{
					"grant_type":           {GrantTypeTokenExchange},
					"subject_token":        {ProbeSubjectToken},
					"subject_token_type":   {TokenTypeIDToken},
					"requested_token_type": {TokenTypeAccessToken},
					"audience":             {"https://mcp.example.com"},
					"scope":                {"read write"},
				},
				HasAuth: true, BasicID: testClientID, BasicSecret: testClientSecret,
			},
		},
		"PublicClient": {
			reason: "With only an id, client_id goes in the form and there is no Authorization header.",
			args:   ProbeRequest{ClientID: testClientID},
			want: received{
				Method: http.MethodPost, ContentType: mediaForm, Accept: mediaJSON,
				Form: url.Values{
					"grant_type":           {GrantTypeTokenExchange},
					"subject_token":        {ProbeSubjectToken},
					"subject_token_type":   {TokenTypeAccessToken},
					"requested_token_type": {TokenTypeAccessToken},
					"client_id":            {testClientID},
				},
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var got received
			srv, ca := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = recordProbe(r)
				w.Header().Set(headerCT, mediaJSON)
				w.WriteHeader(http.StatusBadRequest)
				_, _ = w.Write([]byte(`{"error":"invalid_grant"}`))
			}))
			tc.args.TokenURL = srv.URL + "/token"
			res := newVerifier(t, ca).Probe(context.Background(), tc.args)
			if res.Outcome != OutcomeCredentialsAccepted {
				t.Errorf("%s: outcome: want %s, got %+v", tc.reason, OutcomeCredentialsAccepted, res)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("\n%s\nrequest received: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

// probeCase is a token endpoint behaviour and what a probe of it yields.
type probeCase struct {
	reason string
	// handler is the token endpoint; nil means no server at all.
	handler http.HandlerFunc
	// trustCA is false to verify against system roots only.
	noCA    bool
	timeout time.Duration
	// tokenURL overrides the server's URL when set.
	tokenURL    string
	subjectType string
	want        ProbeResult
	// wantMessage is a part of the message that must be there.
	wantMessage string
}

func jsonError(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set(headerCT, mediaJSON)
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

func probeCases(t *testing.T) map[string]probeCase {
	refused := closedAddr(t)
	return map[string]probeCase{
		"InvalidClient": {
			reason:      "400 invalid_client: credentials rejected.",
			handler:     jsonError(400, `{"error":"invalid_client","error_description":"Invalid client credentials"}`),
			want:        ProbeResult{Outcome: OutcomeCredentialsRejected, HTTPStatus: 400, ErrorCode: "invalid_client"},
			wantMessage: "Invalid client credentials",
		},
		"Unauthorized": {
			reason:      "401 without body: credentials rejected.",
			handler:     func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusUnauthorized) },
			want:        ProbeResult{Outcome: OutcomeCredentialsRejected, HTTPStatus: 401},
			wantMessage: "HTTP 401",
		},
		"InvalidGrant": {
			reason:      "400 invalid_grant: credentials accepted, bogus subject token rejected.",
			handler:     jsonError(400, `{"error":"invalid_grant","error_description":"Invalid subject token"}`),
			want:        ProbeResult{Outcome: OutcomeCredentialsAccepted, HTTPStatus: 400, ErrorCode: "invalid_grant"},
			wantMessage: "Invalid subject token",
		},
		"UnauthorizedClient": {
			reason:      "400 unauthorized_client: grant not allowed for this client.",
			handler:     jsonError(400, `{"error":"unauthorized_client"}`),
			want:        ProbeResult{Outcome: OutcomeGrantNotAllowed, HTTPStatus: 400, ErrorCode: "unauthorized_client"},
			wantMessage: "may not use the token exchange grant",
		},
		"UnsupportedGrantType": {
			reason:      "400 unsupported_grant_type: no token exchange.",
			handler:     jsonError(400, `{"error":"unsupported_grant_type"}`),
			want:        ProbeResult{Outcome: OutcomeGrantUnsupported, HTTPStatus: 400, ErrorCode: "unsupported_grant_type"},
			wantMessage: "does not support the token exchange grant",
		},
		"InternalError": {
			reason:      "500: inconclusive.",
			handler:     func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "boom", http.StatusInternalServerError) },
			want:        ProbeResult{Outcome: OutcomeServerError, HTTPStatus: 500},
			wantMessage: "inconclusive",
		},
		"NonJSON": {
			reason:      "400 with a non-JSON body: inconclusive.",
			handler:     func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "bad request", http.StatusBadRequest) },
			want:        ProbeResult{Outcome: OutcomeServerError, HTTPStatus: 400},
			wantMessage: "without an OAuth token or error response",
		},
		"Redirect": {
			reason: "302: not followed, and the message says where it pointed.",
			handler: func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "https://login.example.com/?next=%2Ftoken", http.StatusFound)
			},
			want:        ProbeResult{Outcome: OutcomeServerError, HTTPStatus: 302},
			wantMessage: `redirect (HTTP 302 to "https://login.example.com/?next=%2Ftoken")`,
		},
		"TokenIssued": {
			reason:      "200 with a token: credentials accepted.",
			handler:     jsonError(200, `{"access_token":"abc","issued_token_type":"`+TokenTypeAccessToken+`","token_type":"Bearer"}`),
			want:        ProbeResult{Outcome: OutcomeCredentialsAccepted, HTTPStatus: 200},
			wantMessage: "issued a token",
		},
		"EchoesSecret": {
			reason: "A server echoing the secret in code, description and redirect does not leak it.",
			handler: func(w http.ResponseWriter, r *http.Request) {
				_, secret, _ := r.BasicAuth()
				raw, _ := url.QueryUnescape(secret)
				w.Header().Set(headerCT, mediaJSON)
				w.WriteHeader(http.StatusBadRequest)
				_ = json.NewEncoder(w).Encode(map[string]string{
					"error":             raw,
					"error_description": fmt.Sprintf("secret %q (%s, header %s) is wrong", raw, secret, r.Header.Get("Authorization")),
				})
			},
			want:        ProbeResult{Outcome: OutcomeServerError, HTTPStatus: 400, ErrorCode: redacted},
			wantMessage: `secret "[redacted]" ([redacted], header Basic [redacted]) is wrong`,
		},
		"EchoesSecretInRedirect": {
			reason: "A redirect to a URL carrying the secret does not leak it.",
			handler: func(w http.ResponseWriter, r *http.Request) {
				_, secret, _ := r.BasicAuth()
				http.Redirect(w, r, "https://login.example.com/?s="+secret, http.StatusSeeOther)
			},
			want:        ProbeResult{Outcome: OutcomeServerError, HTTPStatus: 303},
			wantMessage: "?s=[redacted]",
		},
		"Timeout": {
			reason: "A server slower than the timeout: unreachable, with timeout in the message.",
			handler: func(w http.ResponseWriter, r *http.Request) {
				// The server notices the client going away only once the
				// body is read.
				_, _ = io.Copy(io.Discard, r.Body)
				select {
				case <-r.Context().Done():
				case <-time.After(5 * time.Second):
				}
			},
			timeout:     200 * time.Millisecond,
			want:        ProbeResult{Outcome: OutcomeUnreachable},
			wantMessage: "timeout",
		},
		"UnknownCA": {
			reason:      "A TLS server whose CA we were not given: unreachable, and the message says it is the certificate.",
			handler:     jsonError(400, `{"error":"invalid_grant"}`),
			noCA:        true,
			want:        ProbeResult{Outcome: OutcomeUnreachable},
			wantMessage: "TLS certificate verification failed (x509: certificate signed by unknown authority)",
		},
		"Refused": {
			reason:      "Nothing listening: unreachable, connection refused.",
			tokenURL:    "http://" + refused + "/token",
			want:        ProbeResult{Outcome: OutcomeUnreachable},
			wantMessage: "connection refused",
		},
		"PlainHTTP": {
			reason:      "https to a plain http server: unreachable, and the message says so.",
			tokenURL:    "plainhttp",
			want:        ProbeResult{Outcome: OutcomeUnreachable},
			wantMessage: "plain HTTP",
		},
		"BadSubjectTokenType": {
			reason:      "An unsupported subject token type: the probe is not sent.",
			subjectType: "saml",
			tokenURL:    "http://" + refused + "/token",
			want:        ProbeResult{Outcome: OutcomeUnreachable},
			wantMessage: `The probe was not sent: subject token type "saml" is not supported`,
		},
		"BadTokenURL": {
			reason:      "A token URL that does not parse: the probe is not sent.",
			tokenURL:    "https://u:pw@a b/",
			want:        ProbeResult{Outcome: OutcomeUnreachable},
			wantMessage: `The probe was not sent: token URL "https://xxxxx@a b/" is not valid.`,
		},
	}
}

func runProbe(t *testing.T, tc probeCase) ProbeResult {
	t.Helper()
	tokenURL := tc.tokenURL
	var ca []byte
	if tc.handler != nil {
		var srv *httptest.Server
		srv, ca = newTLSServer(t, tc.handler)
		tokenURL = srv.URL + "/token"
	}
	if tokenURL == "plainhttp" {
		srv := httptest.NewServer(http.NotFoundHandler())
		t.Cleanup(srv.Close)
		tokenURL = strings.Replace(srv.URL, "http://", "https://", 1)
	}
	if tc.noCA {
		ca = nil
	}
	c, err := NewHTTPClient(ca, tc.timeout, "", PrivateAllowed)
	if err != nil {
		t.Fatal(err)
	}
	return (&Verifier{HTTP: c}).Probe(context.Background(), ProbeRequest{
		TokenURL:         tokenURL,
		ClientID:         testClientID,
		ClientSecret:     testClientSecret,
		SubjectTokenType: tc.subjectType,
	})
}

func TestProbe(t *testing.T) {
	for name, tc := range probeCases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := runProbe(t, tc)
			if !strings.Contains(got.Message, tc.wantMessage) {
				t.Errorf("\n%s\nProbe(...).Message: want it to contain %q, got %q", tc.reason, tc.wantMessage, got.Message)
			}
			got.Message = ""
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("\n%s\nProbe(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

// TestProbeNeverReturnsSecret checks every probe outcome, and the other
// errors of the package, for any form of the client secret.
func TestProbeNeverReturnsSecret(t *testing.T) {
	forms := []string{testClientSecret, url.QueryEscape(testClientSecret), "cr%et", "with space"}
	check := func(t *testing.T, what, s string) {
		t.Helper()
		for _, f := range forms {
			if strings.Contains(s, f) {
				t.Errorf("%s contains the client secret (%q): %q", what, f, s)
			}
		}
	}
	for name, tc := range probeCases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := runProbe(t, tc)
			check(t, "Message", got.Message)
			check(t, "ErrorCode", got.ErrorCode)
			check(t, "result", fmt.Sprintf("%+v", got))
		})
	}
	t.Run("Errors", func(t *testing.T) {
		_, err := ParseEndpointURL("https://id:"+url.QueryEscape(testClientSecret)+"@auth.example.com/token", false)
		check(t, "ParseEndpointURL error", errString(err))
		_, err = NewHTTPClient(nil, 0, "ftp://id:"+url.QueryEscape(testClientSecret)+"@proxy:3128", PrivateAllowed)
		check(t, "NewHTTPClient error", errString(err))
	})
}

func TestProbeNilVerifierClient(t *testing.T) {
	// A Verifier without client uses the safe defaults: no private
	// addresses (this server is on loopback), hence no request at all.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("the default client sent a request to a loopback address")
	}))
	defer srv.Close()
	got := (&Verifier{}).Probe(context.Background(), ProbeRequest{TokenURL: srv.URL + "/token"})
	got.Message = ""
	if diff := cmp.Diff(ProbeResult{Outcome: OutcomeAddressNotAllowed}, got); diff != "" {
		t.Errorf("Probe: -want, +got:\n%s", diff)
	}
}

func TestDescribeTransportError(t *testing.T) {
	cases := map[string]struct {
		reason string
		args   error
		want   string
	}{
		"Canceled": {
			reason: "A canceled context.",
			args:   &url.Error{Op: "Post", URL: "https://x", Err: context.Canceled},
			want:   "the request was canceled",
		},
		"Deadline": {
			reason: "A context deadline is a timeout.",
			args:   fmt.Errorf("wrapped: %w", context.DeadlineExceeded),
			want:   "timeout waiting for the authorization server",
		},
		"NetTimeout": {
			reason: "A net.Error timeout deep in the chain is a timeout.",
			args:   &url.Error{Op: "Post", URL: "https://x", Err: fmt.Errorf("w: %w", &net.OpError{Op: "dial", Err: &net.DNSError{IsTimeout: true}})},
			want:   "timeout waiting for the authorization server",
		},
		"UnknownAuthority": {
			reason: "An x509 error without the TLS wrapper is still a certificate problem.",
			args:   x509.UnknownAuthorityError{},
			want:   "TLS certificate verification failed (x509: certificate signed by unknown authority); if the server uses a private CA, configure its CA bundle",
		},
		"Hostname": {
			reason: "A host name mismatch is a certificate problem.",
			args:   x509.HostnameError{Certificate: &x509.Certificate{DNSNames: []string{"a.example.com"}}, Host: "b.example.com"},
			want:   "TLS certificate verification failed (x509: certificate is valid for a.example.com, not b.example.com); if the server uses a private CA, configure its CA bundle",
		},
		"Invalid": {
			reason: "An invalid certificate is a certificate problem.",
			args:   x509.CertificateInvalidError{Cert: &x509.Certificate{}, Reason: x509.NotAuthorizedToSign},
			want:   "TLS certificate verification failed (x509: certificate is not authorized to sign other certificates); if the server uses a private CA, configure its CA bundle",
		},
		"RecordHeader": {
			reason: "A non-TLS answer during the handshake.",
			args:   tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"},
			want:   "TLS handshake failed: the server did not answer with TLS",
		},
		"NoSuchHost": {
			reason: "A DNS name that does not exist.",
			args:   &url.Error{Op: "Post", URL: "https://x", Err: &net.OpError{Op: "dial", Err: &net.DNSError{Name: "auth.invalid", Err: "no such host", IsNotFound: true}}},
			want:   `DNS lookup of "auth.invalid" failed: no such host`,
		},
		"DNSFailure": {
			reason: "Another DNS failure.",
			args:   &net.DNSError{Name: "auth.example.com", Err: "server misbehaving"},
			want:   `DNS lookup of "auth.example.com" failed: server misbehaving`,
		},
		"Reset": {
			reason: "A reset connection.",
			args:   &net.OpError{Op: "read", Err: syscall.ECONNRESET},
			want:   "connection reset by the server",
		},
		"Other": {
			reason: "Anything else is shown without the url.Error prefix.",
			args:   &url.Error{Op: "Post", URL: "https://x", Err: errors.New("unsupported protocol\nscheme")},
			want:   "unsupported protocol scheme",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, describeTransportError(tc.args)); diff != "" {
				t.Errorf("\n%s\ndescribeTransportError(%v): -want, +got:\n%s", tc.reason, tc.args, diff)
			}
		})
	}
}
