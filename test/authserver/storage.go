package authserver

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// tokenStorage is the op.Storage behind the test authorization server.
//
// It embeds the example storage shipped with zitadel/oidc for everything that
// is generic (RSA signing key and JWKS, in-memory token bookkeeping, refresh
// tokens, revocation, health, ...) and overrides what the example gets wrong
// for our purpose:
//
//   - clients: exactly one confidential client with the configured id/secret
//     (the example only knows hard-coded clients, and its client type cannot
//     be configured to issue JWT access tokens);
//   - client_credentials: only that client (the example accepts a hard-coded
//     service user "sid1"/"verysecret");
//   - JWT profile grant: disabled (the example trusts a key pair whose private
//     half is published in the zitadel repository);
//   - token exchange: any subject may be exchanged (the example only allows
//     admin users of its own user store and panics on unknown subjects), only
//     access tokens are issued, audiences can be restricted, and the issued
//     JWT carries "scope" and, for delegation, "act".
type tokenStorage struct {
	*storage.Storage

	issuer           string
	client           *client
	allowedAudiences []string
}

var (
	_ op.Storage                            = (*tokenStorage)(nil)
	_ op.ClientCredentialsStorage           = (*tokenStorage)(nil)
	_ op.TokenExchangeStorage               = (*tokenStorage)(nil)
	_ op.TokenExchangeTokensVerifierStorage = (*tokenStorage)(nil)
)

func newTokenStorage(issuer string, c *client, allowedAudiences []string) *tokenStorage {
	return &tokenStorage{
		// No example clients: every client lookup goes through the overrides below.
		Storage:          storage.NewStorageWithClients(storage.NewUserStore(issuer), map[string]*storage.Client{}),
		issuer:           issuer,
		client:           c,
		allowedAudiences: allowedAudiences,
	}
}

var errUnknownClient = errors.New("unknown client")

// GetClientByClientID implements op.Storage.
func (s *tokenStorage) GetClientByClientID(_ context.Context, clientID string) (op.Client, error) {
	if clientID != s.client.id {
		return nil, errUnknownClient
	}
	return s.client, nil
}

// AuthorizeClientIDSecret implements op.Storage. op turns an error into
// invalid_client (HTTP 401).
func (s *tokenStorage) AuthorizeClientIDSecret(_ context.Context, clientID, clientSecret string) error {
	if !s.client.authenticates(clientID, clientSecret) {
		return errors.New("invalid client_id or client_secret")
	}
	return nil
}

// ClientCredentials implements op.ClientCredentialsStorage.
func (s *tokenStorage) ClientCredentials(ctx context.Context, clientID, clientSecret string) (op.Client, error) {
	if err := s.AuthorizeClientIDSecret(ctx, clientID, clientSecret); err != nil {
		return nil, err
	}
	return s.client, nil
}

// ClientCredentialsTokenRequest implements op.ClientCredentialsStorage: the
// token's subject and audience are the client itself.
func (s *tokenStorage) ClientCredentialsTokenRequest(_ context.Context, clientID string, scopes []string) (op.TokenRequest, error) {
	if clientID != s.client.id {
		return nil, errUnknownClient
	}
	return &oidc.JWTTokenRequest{Subject: clientID, Audience: []string{clientID}, Scopes: scopes}, nil
}

// GetKeyByIDAndClientID implements op.Storage. No client has registered keys,
// so the JWT profile grant and private_key_jwt authentication always fail.
func (s *tokenStorage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errors.New("no keys registered")
}

// GetPrivateClaimsFromRequest implements op.CanGetPrivateClaimsFromRequest:
// JWT access tokens from grants other than token exchange carry "scope".
func (s *tokenStorage) GetPrivateClaimsFromRequest(_ context.Context, request op.TokenRequest, _ []string) (map[string]any, error) {
	return scopeClaim(request.GetScopes()), nil
}

// ValidateTokenExchangeRequest implements op.TokenExchangeStorage. op has
// already authenticated the client and verified subject_token (and
// actor_token) before calling it.
func (s *tokenStorage) ValidateTokenExchangeRequest(_ context.Context, request op.TokenExchangeRequest) error {
	switch request.GetRequestedTokenType() {
	case "":
		// RFC 8693 makes requested_token_type optional.
		request.SetRequestedTokenType(oidc.AccessTokenType)
	case oidc.AccessTokenType:
	default:
		// op would answer 200 with an empty token for jwt, and this server
		// has no use for refresh or ID tokens.
		return oidc.ErrInvalidRequest().WithDescription("requested_token_type %s is not supported, only %s",
			request.GetRequestedTokenType(), oidc.AccessTokenType)
	}
	if len(s.allowedAudiences) > 0 {
		for _, aud := range request.GetAudience() {
			if !slices.Contains(s.allowedAudiences, aud) {
				return oidc.ErrInvalidTarget().WithDescription("audience %q is not allowed", aud)
			}
		}
	}
	return nil
}

// CreateTokenExchangeRequest implements op.TokenExchangeStorage.
func (s *tokenStorage) CreateTokenExchangeRequest(context.Context, op.TokenExchangeRequest) error {
	return nil
}

// GetPrivateClaimsFromTokenExchangeRequest implements op.TokenExchangeStorage:
// the issued JWT carries "scope" and, if an actor_token was given, the
// RFC 8693 "act" claim.
func (s *tokenStorage) GetPrivateClaimsFromTokenExchangeRequest(_ context.Context, request op.TokenExchangeRequest) (map[string]any, error) {
	claims := scopeClaim(request.GetScopes())
	if actor := request.GetExchangeActor(); actor != "" {
		if claims == nil {
			claims = map[string]any{}
		}
		claims["act"] = map[string]any{"sub": actor}
	}
	return claims, nil
}

// SetUserinfoFromTokenExchangeRequest implements op.TokenExchangeStorage. It
// is only used for ID tokens, which ValidateTokenExchangeRequest refuses.
func (s *tokenStorage) SetUserinfoFromTokenExchangeRequest(_ context.Context, userinfo *oidc.UserInfo, request op.TokenExchangeRequest) error {
	userinfo.Subject = request.GetSubject()
	return nil
}

// VerifyExchangeSubjectToken implements op.TokenExchangeTokensVerifierStorage.
// op calls it for tokens it could not verify itself; op has no case for
// subject_token_type jwt, so this accepts JWTs signed by this server.
func (s *tokenStorage) VerifyExchangeSubjectToken(ctx context.Context, token string, tokenType oidc.TokenType) (string, string, map[string]any, error) {
	return s.verifyJWT(ctx, token, tokenType)
}

// VerifyExchangeActorToken implements op.TokenExchangeTokensVerifierStorage.
func (s *tokenStorage) VerifyExchangeActorToken(ctx context.Context, token string, tokenType oidc.TokenType) (string, string, map[string]any, error) {
	return s.verifyJWT(ctx, token, tokenType)
}

func (s *tokenStorage) verifyJWT(ctx context.Context, token string, tokenType oidc.TokenType) (string, string, map[string]any, error) {
	if tokenType != oidc.JWTTokenType {
		return "", "", nil, fmt.Errorf("token of type %s is invalid", tokenType)
	}
	claims, err := op.VerifyAccessToken[*oidc.AccessTokenClaims](ctx, token,
		op.NewAccessTokenVerifier(s.issuer, &op.OpenIDKeySet{Storage: s}))
	if err != nil {
		return "", "", nil, err
	}
	return claims.JWTID, claims.Subject, claims.Claims, nil
}

func scopeClaim(scopes []string) map[string]any {
	if len(scopes) == 0 {
		return nil
	}
	return map[string]any{"scope": strings.Join(scopes, " ")}
}

// client is the single confidential client of the server. It authenticates
// with client_secret_basic and receives JWT access tokens.
type client struct {
	id string

	mu      sync.RWMutex
	secrets map[string]bool // every secret the client may use now
}

func newClient(id, secret string) *client {
	return &client{id: id, secrets: map[string]bool{secret: true}}
}

// authenticates says whether id and secret are this client's.
func (c *client) authenticates(id, secret string) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return id == c.id && c.secrets[secret]
}

// rotate adds and revokes secrets; the client keeps at least one.
func (c *client) rotate(add, revoke []string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	next := maps.Clone(c.secrets)
	for _, s := range add {
		if s == "" {
			return errors.New("an empty client secret cannot be added")
		}
		next[s] = true
	}
	for _, s := range revoke {
		delete(next, s)
	}
	if len(next) == 0 {
		return errors.New("the client would have no secret left")
	}
	c.secrets = next
	return nil
}

var _ op.Client = (*client)(nil)

func (c *client) GetID() string                       { return c.id }
func (c *client) RedirectURIs() []string              { return nil }
func (c *client) PostLogoutRedirectURIs() []string    { return nil }
func (c *client) ApplicationType() op.ApplicationType { return op.ApplicationTypeWeb }
func (c *client) AuthMethod() oidc.AuthMethod         { return oidc.AuthMethodBasic }
func (c *client) ResponseTypes() []oidc.ResponseType  { return nil }
func (c *client) GrantTypes() []oidc.GrantType {
	return []oidc.GrantType{oidc.GrantTypeTokenExchange, oidc.GrantTypeClientCredentials}
}
func (c *client) LoginURL(string) string               { return "" }
func (c *client) AccessTokenType() op.AccessTokenType  { return op.AccessTokenTypeJWT }
func (c *client) IDTokenLifetime() time.Duration       { return time.Hour }
func (c *client) DevMode() bool                        { return false }
func (c *client) IsScopeAllowed(string) bool           { return true }
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return false }
func (c *client) ClockSkew() time.Duration             { return 0 }
func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string { //nolint:revive // zitadel's op.Client names it so.
	return func(scopes []string) []string { return scopes }
}
func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(scopes []string) []string { return scopes }
}
