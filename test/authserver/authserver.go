// Package authserver runs a real OAuth 2.0 / OpenID Connect authorization
// server for integration and end-to-end tests: the OpenID provider of
// github.com/zitadel/oidc/v3/pkg/op served with TLS on 127.0.0.1, including
// its RFC 8693 token exchange grant.
//
// The server knows one confidential client (Options.ClientID and
// Options.ClientSecret), which may use the token exchange and
// client_credentials grants and receives JWT access tokens signed with RS256
// (keys at Issuer + "/keys"). Tokens live 5 minutes. For token exchange the
// client must authenticate with client_secret_basic (id and secret
// form-urlencoded, RFC 6749 section 2.3.1): op ignores client_id and
// client_secret form fields on that grant and answers 401 invalid_client.
//
// A token exchange (subject_token_type access_token or jwt, subject_token
// issued by this server) returns a JWT access token with
//
//	iss       = Issuer
//	sub       = the subject token's sub
//	aud       = the requested audience values, or [ClientID] when none is requested
//	client_id = ClientID
//	scope     = the requested scope values, space separated (absent when none)
//	act       = {"sub": <actor token's sub>} when an actor_token is given
//
// The response's scope, issued_token_type (access_token) and token_type
// (Bearer) follow RFC 8693. Other requested_token_type values are refused
// with invalid_request; with Options.AllowedAudiences set, other audiences
// are refused with invalid_target.
package authserver

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/crossmcp/provider-mcp/test/pki"
)

// Options configures Start. The zero value is usable.
type Options struct {
	ClientID     string // default "mcp-proxy"
	ClientSecret string // default "proxy-secret"

	// Subject is the sub of tokens returned by SubjectToken. Default "test-user".
	Subject string

	// AllowedAudiences, if not empty, are the only audience values a token
	// exchange may request; others get invalid_target.
	AllowedAudiences []string

	// DemoLogin serves POST /demo/token (form fields sub, aud and scope, each
	// repeatable but sub): it answers a user's access token, as a login would,
	// without one. It also serves POST /demo/client-secrets, where the client,
	// authenticated with a secret it has, adds (form field add) and revokes
	// (revoke) its secrets, as an administrator would at a real server. Only
	// for the local plane's demo and tests.
	DemoLogin bool

	// Logger receives the provider's logs. Default: discarded.
	Logger *slog.Logger
	// Addr to listen on. Default "127.0.0.1:0", a random port.
	Addr string

	// CA signs the server's TLS certificate. Default: a throw-away CA valid
	// for 24 hours. A server started again on the same Addr with the same CA
	// is the same server to clients that trust it: same issuer, same trust.
	CA *pki.CA
}

// Server is a running authorization server.
type Server struct {
	Issuer   string // https://127.0.0.1:<port> (exact issuer string advertised in discovery)
	TokenURL string // the token endpoint as advertised
	// CAPEM is the PEM of the CA that signed the server's TLS certificate
	// (IP SAN 127.0.0.1): Options.CA, or one Start created, valid for 24 hours.
	CAPEM                  []byte
	ClientID, ClientSecret string
	Subject                string // sub of the tokens returned by SubjectToken

	provider *op.Provider
	client   *client
	srv      *http.Server
	served   chan struct{}
	stop     func() bool
	once     sync.Once
	closed   chan struct{}
}

// Start serves the provider on Options.Addr (127.0.0.1, random port) with TLS until ctx is
// done or Close is called. The server accepts requests when Start returns.
func Start(ctx context.Context, o Options) (*Server, error) {
	if o.ClientID == "" {
		o.ClientID = "mcp-proxy"
	}
	if o.ClientSecret == "" {
		o.ClientSecret = "proxy-secret"
	}
	if o.Subject == "" {
		o.Subject = "test-user"
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}

	cert, caPEM, err := newTLS(o.CA)
	if err != nil {
		return nil, err
	}
	// Bind first: the issuer must contain the port.
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	issuer := "https://" + ln.Addr().String()

	c := newClient(o.ClientID, o.ClientSecret)
	provider, err := op.NewProvider(
		// AuthMethodPost stays off: op's token exchange does not read
		// credentials from the form, so discovery advertises only
		// client_secret_basic.
		&op.Config{},
		newTokenStorage(issuer, c, o.AllowedAudiences),
		op.StaticIssuer(issuer),
		op.WithLogger(logger),
		op.WithCrypto(noOpaqueTokens{}),
	)
	if err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("create OpenID provider: %w", err)
	}

	s := &Server{
		Issuer:       issuer,
		TokenURL:     provider.TokenEndpoint().Absolute(issuer),
		CAPEM:        caPEM,
		ClientID:     o.ClientID,
		ClientSecret: o.ClientSecret,
		Subject:      o.Subject,
		provider:     provider,
		client:       c,
		srv: &http.Server{
			Handler:           provider,
			TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelError),
		},
		served: make(chan struct{}),
		closed: make(chan struct{}),
	}
	if o.DemoLogin {
		mux := http.NewServeMux()
		mux.Handle("/", provider)
		mux.HandleFunc("POST /demo/token", s.demoToken)
		mux.HandleFunc("POST /demo/client-secrets", s.demoClientSecrets)
		s.srv.Handler = mux
	}
	go func() {
		defer close(s.served)
		err := s.srv.ServeTLS(ln, "", "")
		if !errors.Is(err, http.ErrServerClosed) {
			logger.Error("authserver stopped", "error", err)
		}
	}()
	s.stop = context.AfterFunc(ctx, s.Close)
	return s, nil
}

// Close stops the server and waits until it has stopped. It may be called
// more than once.
func (s *Server) Close() {
	s.once.Do(func() {
		close(s.closed)
		s.stop()
		_ = s.srv.Close()
		<-s.served
	})
}

// SubjectToken returns a JWT access token issued by this server for
// Subject, with audience ClientID and scope "openid", which the configured
// client can exchange (subject_token_type access_token or jwt).
func (s *Server) SubjectToken(ctx context.Context) (string, error) {
	return s.MintAccessToken(ctx, s.Subject, []string{s.ClientID}, []string{oidc.ScopeOpenID})
}

// MintAccessToken issues a JWT access token through the provider's own token
// creation (storage bookkeeping and signing, exactly as for the token
// endpoint), attributed to the configured client, without an HTTP request.
// The token carries a "scope" claim when scopes are given; an empty audience
// becomes [ClientID].
func (s *Server) MintAccessToken(ctx context.Context, subject string, audience, scopes []string) (string, error) {
	select {
	case <-s.closed:
		return "", errors.New("authserver: server closed")
	default:
	}
	token, _, _, err := op.CreateAccessToken(op.ContextWithIssuer(ctx, s.Issuer),
		&oidc.JWTTokenRequest{Subject: subject, Audience: audience, Scopes: scopes},
		op.AccessTokenTypeJWT, s.provider, s.client, "")
	if err != nil {
		return "", fmt.Errorf("authserver: mint access token: %w", err)
	}
	return token, nil
}

// RotateClientSecret makes add a secret of the client and revokes revoke
// (either may be empty): requests with a revoked secret get invalid_client
// from then on. The client keeps at least one secret.
func (s *Server) RotateClientSecret(add, revoke string) error {
	var a, r []string
	if add != "" {
		a = []string{add}
	}
	if revoke != "" {
		r = []string{revoke}
	}
	return s.client.rotate(a, r)
}

// demoClientSecrets adds and revokes the client's secrets for a caller that
// authenticates as the client.
func (s *Server) demoClientSecrets(w http.ResponseWriter, r *http.Request) {
	// Basic credentials are form-urlencoded first, as at the token endpoint.
	id, secret, ok := r.BasicAuth()
	id, errID := url.QueryUnescape(id)
	secret, errSecret := url.QueryUnescape(secret)
	if !ok || errID != nil || errSecret != nil || !s.client.authenticates(id, secret) {
		w.Header().Set("WWW-Authenticate", `Basic realm="client"`)
		http.Error(w, "authenticate as the client, with a secret it has", http.StatusUnauthorized)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if err := s.client.rotate(r.PostForm["add"], r.PostForm["revoke"]); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// demoToken answers a user's access token, sub, aud and scope from the form,
// as {"access_token", "token_type"}.
func (s *Server) demoToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("sub") == "" {
		http.Error(w, "form fields: sub (required), aud and scope (repeatable)", http.StatusBadRequest)
		return
	}
	tok, err := s.MintAccessToken(r.Context(), r.PostForm.Get("sub"), r.PostForm["aud"], r.PostForm["scope"])
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"access_token": tok, "token_type": "Bearer"})
}

// noOpaqueTokens is op's Crypto for a server that issues JWT access tokens
// and no authorization codes: it encrypts nothing and decrypts nothing.
// op's own AES crypto decrypts any string of 22 or more base64url
// characters into garbage, and op's token exchange then dereferences nil
// claims whenever that garbage holds exactly one colon: the handler
// panicked for about one subject token in forty, per key, and a fixed
// token (provider-mcp's credential probe) against one server in forty.
type noOpaqueTokens struct{}

var errNoOpaqueTokens = errors.New("this server issues no opaque tokens")

func (noOpaqueTokens) Encrypt(string) (string, error) { return "", errNoOpaqueTokens }
func (noOpaqueTokens) Decrypt(string) (string, error) { return "", errNoOpaqueTokens }
