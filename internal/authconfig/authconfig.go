// Package authconfig is the pure logic of an ExternalAuthConfig: validation,
// the settings a proxy runner needs, and the config hash. It reads no
// Kubernetes objects; the controller resolves secrets and passes their values.
package authconfig

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net/url"
	"slices"
	"strconv"
	"strings"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/crossmcp/provider-mcp/apis/auth/v1alpha1"
	"github.com/crossmcp/provider-mcp/internal/oauth"
)

// Keys of the connection secret. They are the proxy runner's own RunConfig
// names, so a consumer can map them one to one.
const (
	KeyType                    = "type"
	KeyTokenURL                = "token_url"
	KeyClientID                = "client_id"
	KeyClientSecret            = "client_secret"
	KeyAudience                = "audience"
	KeyScopes                  = "scopes"
	KeySubjectTokenType        = "subject_token_type"
	KeyHeaderStrategy          = "header_strategy"
	KeyExternalTokenHeaderName = "external_token_header_name"
	KeyHeaderName              = "header_name"
	KeyHeaderValue             = "header_value"
	KeyBearerToken             = "bearer_token"
	KeyConfigHash              = "config_hash"
)

// Header strategies of the proxy runner's token exchange.
const (
	HeaderStrategyReplace = "replace"
	HeaderStrategyCustom  = "custom"
)

// Condition reasons for configuration problems.
const (
	ReasonInvalidConfig     xpv2.ConditionReason = "InvalidConfig"
	ReasonHostNotAllowed    xpv2.ConditionReason = "HostNotAllowed"
	ReasonSecretNotFound    xpv2.ConditionReason = "SecretNotFound"
	ReasonSecretKeyNotFound xpv2.ConditionReason = "SecretKeyNotFound"
	ReasonSecretValueEmpty  xpv2.ConditionReason = "SecretValueEmpty"
)

// secretKeys are the connection details that hold secret values: the hash
// covers a keyed digest of them, never the values.
var secretKeys = map[string]bool{KeyClientSecret: true, KeyHeaderValue: true, KeyBearerToken: true}

// An Error is a configuration problem with a condition reason a human can act
// on.
type Error struct {
	Reason  xpv2.ConditionReason
	Message string
}

func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with the supplied reason.
func Errorf(reason xpv2.ConditionReason, format string, a ...any) error {
	return &Error{Reason: reason, Message: fmt.Sprintf(format, a...)}
}

// ReasonOf returns the condition reason of err, or "" when err carries none.
func ReasonOf(err error) xpv2.ConditionReason {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

// SecretRefs returns every Secret key the config references, in a stable
// order.
func SecretRefs(p v1alpha1.ExternalAuthConfigParameters) []v1alpha1.SecretKeyRef {
	var refs []v1alpha1.SecretKeyRef
	switch {
	case p.Type == v1alpha1.TypeTokenExchange && p.TokenExchange != nil && p.TokenExchange.ClientSecretRef != nil:
		refs = append(refs, *p.TokenExchange.ClientSecretRef)
	case p.Type == v1alpha1.TypeHeaderInjection && p.HeaderInjection != nil:
		refs = append(refs, p.HeaderInjection.ValueSecretRef)
	case p.Type == v1alpha1.TypeBearerToken && p.BearerToken != nil:
		refs = append(refs, p.BearerToken.TokenSecretRef)
	}
	return refs
}

// Endpoints returns the URLs the provider may contact for this config: the
// token URL and, when set, the issuer URL.
func Endpoints(p v1alpha1.ExternalAuthConfigParameters) ([]*url.URL, error) {
	te := p.TokenExchange
	if p.Type != v1alpha1.TypeTokenExchange || te == nil {
		return nil, nil
	}
	tu, err := oauth.ParseEndpointURL(te.TokenURL, te.InsecureAllowHTTP)
	if err != nil {
		return nil, Errorf(ReasonInvalidConfig, "invalid tokenUrl: %v", err)
	}
	out := []*url.URL{tu}
	if te.IssuerURL != "" {
		iu, err := oauth.ParseEndpointURL(te.IssuerURL, te.InsecureAllowHTTP)
		if err != nil {
			return nil, Errorf(ReasonInvalidConfig, "invalid issuerUrl: %v", err)
		}
		out = append(out, iu)
	}
	return out, nil
}

// Validate checks what the CRD schema cannot: that the sub-block matches the
// type (for objects written before a schema existed), that URLs parse, and
// that every host the provider would contact is allowed.
func Validate(p v1alpha1.ExternalAuthConfigParameters, allowedHosts []string) error {
	blocks := []struct {
		t   v1alpha1.ExternalAuthType
		set bool
	}{
		{v1alpha1.TypeTokenExchange, p.TokenExchange != nil},
		{v1alpha1.TypeHeaderInjection, p.HeaderInjection != nil},
		{v1alpha1.TypeBearerToken, p.BearerToken != nil},
	}
	known := p.Type == v1alpha1.TypeUnauthenticated
	for _, b := range blocks {
		known = known || b.t == p.Type
	}
	if !known {
		return Errorf(ReasonInvalidConfig, "unknown type %q: want tokenExchange, headerInjection, bearerToken or unauthenticated", p.Type)
	}
	for _, b := range blocks {
		if b.set && b.t != p.Type {
			return Errorf(ReasonInvalidConfig, "type %s must not have a %s block", p.Type, b.t)
		}
		if !b.set && b.t == p.Type {
			return Errorf(ReasonInvalidConfig, "type %s needs its %s block", p.Type, b.t)
		}
	}
	if te := p.TokenExchange; te != nil {
		if strings.TrimSpace(te.Audience) == "" {
			return Errorf(ReasonInvalidConfig, "tokenExchange.audience must not be empty")
		}
		if _, err := oauth.NormalizeSubjectTokenType(te.SubjectTokenType); err != nil {
			return Errorf(ReasonInvalidConfig, "invalid subjectTokenType: %v", err)
		}
		if te.ClientSecretRef != nil && te.ClientID == "" {
			return Errorf(ReasonInvalidConfig, "tokenExchange.clientSecretRef requires clientId")
		}
	}
	eps, err := Endpoints(p)
	if err != nil {
		return err
	}
	for _, u := range eps {
		if !oauth.HostAllowed(u, allowedHosts) {
			return Errorf(ReasonHostNotAllowed, "host %q is not in the provider config's allowedTokenHosts %v", u.Host, allowedHosts)
		}
	}
	return nil
}

// Values are resolved secret values by reference.
type Values map[v1alpha1.SecretKeyRef][]byte

// Details returns the connection details of a validated config, without
// config_hash. Every key of the type is always present, empty when unset,
// because published connection secrets are merged: a key left out would keep
// its old value.
func Details(p v1alpha1.ExternalAuthConfigParameters, v Values) map[string][]byte {
	d := map[string][]byte{KeyType: []byte(p.Type)}
	switch p.Type {
	case v1alpha1.TypeTokenExchange:
		te := p.TokenExchange
		stt, _ := oauth.NormalizeSubjectTokenType(te.SubjectTokenType)
		strategy := HeaderStrategyReplace
		if te.ExternalTokenHeaderName != "" {
			strategy = HeaderStrategyCustom
		}
		var secret []byte
		if te.ClientSecretRef != nil {
			secret = v[*te.ClientSecretRef]
		}
		d[KeyTokenURL] = []byte(te.TokenURL)
		d[KeyClientID] = []byte(te.ClientID)
		d[KeyClientSecret] = secret
		d[KeyAudience] = []byte(te.Audience)
		d[KeyScopes] = []byte(strings.Join(te.Scopes, " "))
		d[KeySubjectTokenType] = []byte(stt)
		d[KeyHeaderStrategy] = []byte(strategy)
		d[KeyExternalTokenHeaderName] = []byte(te.ExternalTokenHeaderName)
	case v1alpha1.TypeHeaderInjection:
		d[KeyHeaderName] = []byte(p.HeaderInjection.HeaderName)
		d[KeyHeaderValue] = v[p.HeaderInjection.ValueSecretRef]
	case v1alpha1.TypeBearerToken:
		d[KeyBearerToken] = v[p.BearerToken.TokenSecretRef]
	}
	for k, val := range d {
		if val == nil {
			d[k] = []byte{}
		}
	}
	return d
}

// Hash returns the config hash of connection details: what the proxy runner
// would do, including the secret values. Secret values enter only as an
// HMAC under key, a secret of the provider's own, over salt (the managed
// resource's UID) and the value: the hash is public (status, pod
// annotations), and without the key nobody can test guesses of a secret
// against it. Settings that do not change the proxy's behaviour
// (verification switches, provider config, labels) are not in the details
// and so not in the hash. It is 128 bits, as 32 hex digits.
func Hash(details map[string][]byte, key []byte, salt string) string {
	// Room for the details of every type, so that neither the keys nor the
	// input need the heap: the hash is computed on every poll of every config.
	var keyBuf [16]string
	keys := keyBuf[:0]
	for k := range details {
		if k != KeyConfigHash {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var inBuf [1024]byte
	in := inBuf[:0]
	var mac hash.Hash
	for _, k := range keys {
		v := details[k]
		if secretKeys[k] {
			if mac == nil {
				mac = hmac.New(sha256.New, key)
			}
			mac.Reset()
			// <len(salt)>:<salt><value>, so no salt and value share an input.
			mac.Write(strconv.AppendInt(nil, int64(len(salt)), 10))
			mac.Write([]byte{':'})
			mac.Write([]byte(salt))
			mac.Write(v)
			v = mac.Sum(nil)
		}
		// Length-prefix both parts so that no two detail sets share an input:
		// <len(k)>:<k><len(v)>:<v>.
		in = strconv.AppendInt(in, int64(len(k)), 10)
		in = append(in, ':')
		in = append(in, k...)
		in = strconv.AppendInt(in, int64(len(v)), 10)
		in = append(in, ':')
		in = append(in, v...)
	}
	// The first 32 hex digits: 128 bits.
	sum := sha256.Sum256(in)
	return hex.EncodeToString(sum[:16])
}
