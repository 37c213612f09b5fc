package externalauthconfig

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
	"k8s.io/apimachinery/pkg/types"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/crossmcp/provider-mcp/apis/auth/v1alpha1"
	"github.com/crossmcp/provider-mcp/internal/oauth"
)

// Condition reasons of the verification against the authorization server.
const (
	ReasonVerified                       xpv2.ConditionReason = "Verified"
	ReasonVerificationSkipped            xpv2.ConditionReason = "VerificationSkipped"
	ReasonDiscoveryFailed                xpv2.ConditionReason = "DiscoveryFailed"
	ReasonTokenEndpointMismatch          xpv2.ConditionReason = "TokenEndpointMismatch"
	ReasonTokenExchangeNotAdvertised     xpv2.ConditionReason = "TokenExchangeNotAdvertised"
	ReasonCredentialsRejected            xpv2.ConditionReason = "CredentialsRejected"
	ReasonGrantNotAllowed                xpv2.ConditionReason = "GrantNotAllowed"
	ReasonGrantUnsupported               xpv2.ConditionReason = "GrantUnsupported"
	ReasonAudienceOrScopeRejected        xpv2.ConditionReason = "AudienceOrScopeRejected"
	ReasonAuthorizationServerError       xpv2.ConditionReason = "AuthorizationServerError"
	ReasonAuthorizationServerUnreachable xpv2.ConditionReason = "AuthorizationServerUnreachable"
	ReasonPrivateNetworkNotAllowed       xpv2.ConditionReason = "PrivateNetworkNotAllowed"
)

var probeReasons = map[oauth.Outcome]xpv2.ConditionReason{
	oauth.OutcomeCredentialsRejected: ReasonCredentialsRejected,
	oauth.OutcomeGrantNotAllowed:     ReasonGrantNotAllowed,
	oauth.OutcomeGrantUnsupported:    ReasonGrantUnsupported,
	oauth.OutcomeTargetRejected:      ReasonAudienceOrScopeRejected,
	oauth.OutcomeServerError:         ReasonAuthorizationServerError,
	oauth.OutcomeUnreachable:         ReasonAuthorizationServerUnreachable,
	oauth.OutcomeAddressNotAllowed:   ReasonPrivateNetworkNotAllowed,
}

const (
	errWaitSlot      = "gave up waiting for a free slot"
	msgWaitSlot      = "The probe was not sent: gave up waiting for a free slot."
	errWaitDiscovery = "gave up waiting for metadata discovery"
	msgWaitProbe     = "The probe was not answered in time: gave up waiting for the same probe of another config."
)

// A Checker asks an authorization server about itself.
type Checker interface {
	Discover(ctx context.Context, issuer *url.URL) (*oauth.Metadata, string, error)
	Probe(ctx context.Context, r oauth.ProbeRequest) oauth.ProbeResult
}

// A CheckerFactory returns a Checker that uses the supplied HTTP client.
type CheckerFactory func(c *http.Client) Checker

// NewOAuthChecker returns the real Checker.
func NewOAuthChecker(c *http.Client) Checker { return &oauth.Verifier{HTTP: c} }

// A verification is the outcome of checking one config at one hash.
type verification struct {
	hash      string
	inputs    string // what else the check depended on; see request.inputs
	at        time.Time
	outcome   v1alpha1.VerificationOutcome
	reason    xpv2.ConditionReason
	message   string
	discovery *v1alpha1.DiscoveryObservation
}

// request is everything a verification needs.
type request struct {
	uid       types.UID
	namespace string
	hash      string
	settings  clientSettings
	te        *v1alpha1.TokenExchangeConfig
	secret    string
}

// inputs identifies what a check depends on besides the config hash: the
// provider config's client settings (CA bundle, timeout, proxy), the issuer
// and the verification switches. None of them is in the hash, because none
// changes what the proxy does, but each changes what verification finds: a
// new CA bundle or issuer must be checked now, not after the interval.
func (r request) inputs() string {
	discovery, probe := true, true
	if vp := r.te.Verification; vp != nil {
		if vp.Discovery != nil {
			discovery = *vp.Discovery
		}
		if vp.CredentialProbe != nil {
			probe = *vp.CredentialProbe
		}
	}
	return fmt.Sprintf("%s\n%q\n%t\n%t", r.settings.key(), r.te.IssuerURL, discovery, probe)
}

// A verifier checks authorization servers and remembers the outcomes, so that
// a config is checked when its hash or its verification inputs change and
// otherwise at most once per interval (failures sooner), never on every poll.
// HTTP clients are kept per provider-config settings so connections are
// reused.
type verifier struct {
	newChecker CheckerFactory
	now        func() time.Time
	// observe records a verification that went to a server (metrics).
	observe  func(verification, time.Duration)
	interval time.Duration
	retry    time.Duration

	// limits bounds the requests in flight: in all, per namespace and
	// per host.
	limits *limits

	// asking lets configs that ask an authorization server the same
	// question wait for one answer instead of sending one each.
	asking singleflight.Group

	mu      sync.Mutex
	clients map[string]*http.Client
	results map[types.UID]verification
	answers map[string]answer
	swept   time.Time
}

// An answer is what an authorization server said, kept for configs that
// would ask the same (see shared) while it is fresh (see sharedTTL). Only
// successes are kept: a config whose check failed sees the next attempt's
// answer.
type answer struct {
	val any
	at  time.Time
}

func newVerifier(f CheckerFactory, interval, retry time.Duration) *verifier {
	return &verifier{
		newChecker: f,
		now:        time.Now,
		observe:    observeVerification,
		interval:   interval,
		retry:      retry,
		limits:     newLimits(),
		clients:    map[string]*http.Client{},
		results:    map[types.UID]verification{},
		answers:    map[string]answer{},
	}
}

// Verify returns the verification of r, from memory when it is fresh.
func (v *verifier) Verify(ctx context.Context, r request) verification {
	v.mu.Lock()
	prev, ok := v.results[r.uid]
	v.mu.Unlock()
	inputs := r.inputs()
	if ok && prev.hash == r.hash && prev.inputs == inputs && v.now().Sub(prev.at) < v.ttl(prev) {
		return prev
	}

	var res verification
	start := v.now()
	c, err := v.client(r.settings)
	if err != nil {
		res = verification{outcome: v1alpha1.VerificationFailed, reason: ReasonAuthorizationServerUnreachable, message: err.Error()}
	} else {
		res = check(ctx, shared{Checker: v.newChecker(c), v: v, key: r.settings.key(), namespace: r.namespace}, r.te, r.secret)
	}
	res.hash, res.inputs, res.at = r.hash, inputs, v.now()
	v.observe(res, res.at.Sub(start))

	v.mu.Lock()
	v.results[r.uid] = res
	v.sweep()
	v.mu.Unlock()
	return res
}

// sweep drops expired results, at most once per retry interval: they are
// never returned again, and a config deleted without a reconcile (configs
// carry no finalizer) leaves its last one behind. Call it with mu held.
func (v *verifier) sweep() {
	now := v.now()
	if now.Sub(v.swept) < v.retry {
		return
	}
	v.swept = now
	for uid, r := range v.results {
		if now.Sub(r.at) >= v.ttl(r) {
			delete(v.results, uid)
		}
	}
	for k, a := range v.answers {
		if now.Sub(a.at) >= v.sharedTTL() {
			delete(v.answers, k)
		}
	}
}

// Forget drops what is remembered of a config.
func (v *verifier) Forget(uid types.UID) {
	v.mu.Lock()
	delete(v.results, uid)
	v.mu.Unlock()
}

func (v *verifier) ttl(r verification) time.Duration {
	if r.outcome == v1alpha1.VerificationFailed {
		return v.retry
	}
	return v.interval
}

// sharedTTL is how long a discovery or probe serves other configs: no longer
// than a failed check waits for its retry, so a changed issuer or client is
// noticed about as fast as a recovered one.
func (v *verifier) sharedTTL() time.Duration {
	return min(v.retry, v.interval)
}

// shared is a Checker whose answers configs share. Discovery is shared by
// every config that names the same issuer under the same client settings
// (key): a thousand configs of one issuer send one discovery, not a
// thousand. A probe is shared only within a namespace, so that how fast a
// config verifies tells nobody whether another tenant uses the same client.
type shared struct {
	Checker
	v         *verifier
	key       string
	namespace string
}

// discovery is what Checker.Discover returns.
type discovery struct {
	md  *oauth.Metadata
	src string
	err error
}

func (d shared) Discover(ctx context.Context, issuer *url.URL) (*oauth.Metadata, string, error) {
	if issuer == nil {
		return d.Checker.Discover(ctx, issuer)
	}
	a, err := d.v.share(ctx, "discovery\n"+d.key+"\n"+issuer.String(), func(ctx context.Context) (any, bool) {
		release, err := d.v.limits.acquire(ctx, d.namespace, issuer.Host)
		if err != nil {
			return discovery{err: fmt.Errorf("%s: %w", errWaitSlot, err)}, false
		}
		defer release()
		md, src, err := d.Checker.Discover(ctx, issuer)
		return discovery{md: md, src: src, err: err}, err == nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", errWaitDiscovery, err)
	}
	r := a.(discovery) //nolint:forcetypeassert // Only discoveries are kept under discovery keys.
	return r.md, r.src, r.err
}

// Probe sends r, or answers with the same probe's success, sent moments ago
// for another config of the namespace.
func (d shared) Probe(ctx context.Context, r oauth.ProbeRequest) oauth.ProbeResult {
	a, err := d.v.share(ctx, "probe\n"+probeKey(d.key, d.namespace, r), func(ctx context.Context) (any, bool) {
		release, err := d.v.limits.acquire(ctx, d.namespace, hostOf(r.TokenURL))
		if err != nil {
			return oauth.ProbeResult{Outcome: oauth.OutcomeUnreachable, Message: msgWaitSlot}, false
		}
		defer release()
		res := d.Checker.Probe(ctx, r)
		return res, res.Outcome == oauth.OutcomeCredentialsAccepted
	})
	if err != nil {
		return oauth.ProbeResult{Outcome: oauth.OutcomeUnreachable, Message: msgWaitProbe}
	}
	return a.(oauth.ProbeResult) //nolint:forcetypeassert // Only probe results are kept under probe keys.
}

// share returns a fresh answer to the question key, or asks it once for
// every caller asking it now. ask says whether its answer may be kept for
// others. The error is only ctx's, when the caller gives up waiting.
func (v *verifier) share(ctx context.Context, key string, ask func(context.Context) (any, bool)) (any, error) {
	v.mu.Lock()
	a, ok := v.answers[key]
	v.mu.Unlock()
	if ok && v.now().Sub(a.at) < v.sharedTTL() {
		return a.val, nil
	}
	ch := v.asking.DoChan(key, func() (any, error) {
		// Others may wait for this answer, so the first caller's
		// cancellation must not end it; the HTTP client's timeout does.
		val, keep := ask(context.WithoutCancel(ctx))
		if keep {
			v.mu.Lock()
			v.answers[key] = answer{val: val, at: v.now()}
			v.mu.Unlock()
		}
		return val, nil
	})
	select {
	case r := <-ch:
		return r.Val, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// probeKey identifies a probe by everything it sends and where it goes. The
// client secret is in it only as part of a SHA-256 digest.
func probeKey(settings, namespace string, r oauth.ProbeRequest) string {
	h := sha256.New()
	for _, f := range append([]string{settings, namespace, r.TokenURL, r.ClientID, r.ClientSecret, r.Audience, r.SubjectTokenType}, r.Scopes...) {
		// Length-prefixed, so no two field lists hash alike.
		fmt.Fprintf(h, "%d:%s", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (v *verifier) client(s clientSettings) (*http.Client, error) {
	k := s.key()
	v.mu.Lock()
	defer v.mu.Unlock()
	if c, ok := v.clients[k]; ok {
		return c, nil
	}
	c, err := oauth.NewHTTPClient(s.caPEM, s.timeout, s.proxyURL, s.networks)
	if err != nil {
		return nil, err
	}
	// Settings change rarely; a small bound keeps stale clients from piling up.
	if len(v.clients) >= 64 {
		clear(v.clients)
	}
	v.clients[k] = c
	return c, nil
}

// check runs discovery and the credential probe as the config asks.
func check(ctx context.Context, c Checker, te *v1alpha1.TokenExchangeConfig, secret string) verification {
	discovery, probe := true, true
	if vp := te.Verification; vp != nil {
		if vp.Discovery != nil {
			discovery = *vp.Discovery
		}
		if vp.CredentialProbe != nil {
			probe = *vp.CredentialProbe
		}
	}
	discovery = discovery && te.IssuerURL != ""

	var out verification
	var did []string
	if discovery {
		// The URL was validated before; a parse error here cannot happen.
		iu, _ := url.Parse(te.IssuerURL)
		md, src, err := c.Discover(ctx, iu)
		var pae *oauth.PrivateAddressError
		if errors.As(err, &pae) {
			return failed(ReasonPrivateNetworkNotAllowed, "metadata discovery for issuer %s was not attempted: %v", te.IssuerURL, pae)
		}
		if err != nil {
			return failed(ReasonDiscoveryFailed, "metadata discovery for issuer %s failed: %v", te.IssuerURL, err)
		}
		out.discovery = &v1alpha1.DiscoveryObservation{
			URL:           src,
			Issuer:        md.Issuer,
			TokenEndpoint: md.TokenEndpoint,
			// Other configs share md; their statuses must not share a slice.
			GrantTypesSupported: slices.Clone(md.GrantTypesSupported),
		}
		if !oauth.SameEndpoint(md.TokenEndpoint, te.TokenURL) {
			f := failed(ReasonTokenEndpointMismatch, "issuer %s advertises token endpoint %s, but tokenUrl is %s", te.IssuerURL, md.TokenEndpoint, te.TokenURL)
			f.discovery = out.discovery
			return f
		}
		if advertised, listed := md.AdvertisesGrant(oauth.GrantTypeTokenExchange); listed && !advertised {
			f := failed(ReasonTokenExchangeNotAdvertised, "issuer %s does not list the token-exchange grant in grant_types_supported", te.IssuerURL)
			f.discovery = out.discovery
			return f
		}
		did = append(did, "metadata discovery matched")
	}
	if probe {
		res := c.Probe(ctx, oauth.ProbeRequest{
			TokenURL:         te.TokenURL,
			ClientID:         te.ClientID,
			ClientSecret:     secret,
			Audience:         te.Audience,
			Scopes:           te.Scopes,
			SubjectTokenType: te.SubjectTokenType,
		})
		if reason, bad := probeReasons[res.Outcome]; bad {
			f := failed(reason, "token endpoint %s: %s", te.TokenURL, res.Message)
			f.discovery = out.discovery
			return f
		}
		did = append(did, "the token endpoint accepted the client credentials")
	}
	if len(did) == 0 {
		out.outcome, out.reason, out.message = v1alpha1.VerificationSkipped, ReasonVerificationSkipped, "verification is switched off"
		return out
	}
	out.outcome, out.reason = v1alpha1.VerificationSucceeded, ReasonVerified
	out.message = did[0]
	if len(did) == 2 {
		out.message = did[0] + "; " + did[1]
	}
	return out
}

func failed(reason xpv2.ConditionReason, format string, a ...any) verification {
	return verification{outcome: v1alpha1.VerificationFailed, reason: reason, message: fmt.Sprintf(format, a...)}
}

// hostOf is rawURL's host (with its port), "" when it does not parse.
func hostOf(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return ""
	}
	return u.Host
}
