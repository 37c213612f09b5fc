package externalauthconfig

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/types"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/crossmcp/provider-mcp/apis/auth/v1alpha1"
	"github.com/crossmcp/provider-mcp/internal/oauth"
)

func te(mods ...func(*v1alpha1.TokenExchangeConfig)) *v1alpha1.TokenExchangeConfig {
	c := &v1alpha1.TokenExchangeConfig{TokenURL: tokenURL, ClientID: "mcp-proxy", Audience: "backend", IssuerURL: issuerURL}
	for _, m := range mods {
		m(c)
	}
	return c
}

func TestCheck(t *testing.T) {
	off := false
	md := func(tokenEndpoint string, grants ...string) *oauth.Metadata {
		return &oauth.Metadata{Issuer: issuerURL, TokenEndpoint: tokenEndpoint, GrantTypesSupported: grants}
	}
	type want struct {
		outcome   v1alpha1.VerificationOutcome
		reason    xpv2.ConditionReason
		discovery bool
	}
	cases := map[string]struct {
		reason  string
		te      *v1alpha1.TokenExchangeConfig
		checker *fakeChecker
		want    want
	}{
		"AllGood": {
			reason:  "Matching discovery and accepted credentials verify.",
			te:      te(),
			checker: &fakeChecker{md: md(tokenURL, oauth.GrantTypeTokenExchange), probe: oauth.ProbeResult{Outcome: oauth.OutcomeCredentialsAccepted}},
			want:    want{outcome: v1alpha1.VerificationSucceeded, reason: ReasonVerified, discovery: true},
		},
		"GrantsNotListed": {
			reason:  "A server that lists no grants is not held against.",
			te:      te(),
			checker: &fakeChecker{md: md(tokenURL + "/"), probe: oauth.ProbeResult{Outcome: oauth.OutcomeCredentialsAccepted}},
			want:    want{outcome: v1alpha1.VerificationSucceeded, reason: ReasonVerified, discovery: true},
		},
		"DiscoveryFailed": {
			reason:  "Discovery that fails is a clear reason.",
			te:      te(),
			checker: &fakeChecker{mdErr: errors.New("404 from both URLs")},
			want:    want{outcome: v1alpha1.VerificationFailed, reason: ReasonDiscoveryFailed},
		},
		"DiscoveryPrivateAddress": {
			reason:  "An issuer at an address private networks are needed for is its own reason.",
			te:      te(),
			checker: &fakeChecker{mdErr: fmt.Errorf("cannot discover: %w", &oauth.PrivateAddressError{Addr: netip.MustParseAddr("169.254.169.254")})},
			want:    want{outcome: v1alpha1.VerificationFailed, reason: ReasonPrivateNetworkNotAllowed},
		},
		"ProbePrivateAddress": {
			reason:  "A token endpoint at such an address too.",
			te:      te(func(te *v1alpha1.TokenExchangeConfig) { te.IssuerURL = "" }),
			checker: &fakeChecker{probe: oauth.ProbeResult{Outcome: oauth.OutcomeAddressNotAllowed, Message: "The probe was not sent: 10.0.0.1 is a loopback, link-local or private address."}},
			want:    want{outcome: v1alpha1.VerificationFailed, reason: ReasonPrivateNetworkNotAllowed},
		},
		"EndpointMismatch": {
			reason:  "A token URL the issuer does not advertise is reported.",
			te:      te(),
			checker: &fakeChecker{md: md("https://auth.example.com/other", oauth.GrantTypeTokenExchange)},
			want:    want{outcome: v1alpha1.VerificationFailed, reason: ReasonTokenEndpointMismatch, discovery: true},
		},
		"NotAdvertised": {
			reason:  "An issuer that lists grants without token exchange is reported.",
			te:      te(),
			checker: &fakeChecker{md: md(tokenURL, "authorization_code")},
			want:    want{outcome: v1alpha1.VerificationFailed, reason: ReasonTokenExchangeNotAdvertised, discovery: true},
		},
		"NoIssuer": {
			reason:  "Without an issuer only the probe runs.",
			te:      te(func(c *v1alpha1.TokenExchangeConfig) { c.IssuerURL = "" }),
			checker: &fakeChecker{probe: oauth.ProbeResult{Outcome: oauth.OutcomeCredentialsAccepted}},
			want:    want{outcome: v1alpha1.VerificationSucceeded, reason: ReasonVerified},
		},
		"Skipped": {
			reason: "With both checks off nothing is sent.",
			te: te(func(c *v1alpha1.TokenExchangeConfig) {
				c.Verification = &v1alpha1.VerificationPolicy{Discovery: &off, CredentialProbe: &off}
			}),
			checker: &fakeChecker{},
			want:    want{outcome: v1alpha1.VerificationSkipped, reason: ReasonVerificationSkipped},
		},
	}
	for o, r := range probeReasons {
		cases["Probe"+string(o)] = struct {
			reason  string
			te      *v1alpha1.TokenExchangeConfig
			checker *fakeChecker
			want    want
		}{
			reason:  "Each failing probe outcome has its own reason.",
			te:      te(func(c *v1alpha1.TokenExchangeConfig) { c.IssuerURL = "" }),
			checker: &fakeChecker{probe: oauth.ProbeResult{Outcome: o, Message: "m"}},
			want:    want{outcome: v1alpha1.VerificationFailed, reason: r},
		}
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := check(context.Background(), tc.checker, tc.te, "secret")
			if diff := cmp.Diff(tc.want, want{outcome: got.outcome, reason: got.reason, discovery: got.discovery != nil}, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("\n%s\ncheck(...): -want, +got:\n%s\nmessage: %s", tc.reason, diff, got.message)
			}
			if tc.want.outcome == v1alpha1.VerificationSkipped && tc.checker.discover+tc.checker.probes != 0 {
				t.Errorf("\n%s\ncheck(...) sent requests with verification off", tc.reason)
			}
		})
	}
}

func TestVerifierRemembers(t *testing.T) {
	now := time.Unix(1000, 0)
	ch := &fakeChecker{probe: oauth.ProbeResult{Outcome: oauth.OutcomeCredentialsAccepted}}
	v := newVerifier(func(*http.Client) Checker { return ch }, 10*time.Minute, 30*time.Second)
	v.now = func() time.Time { return now }
	r := request{uid: "u", hash: "h1", settings: clientSettings{timeout: time.Second}, te: te(func(c *v1alpha1.TokenExchangeConfig) { c.IssuerURL = "" })}

	steps := []struct {
		reason  string
		advance time.Duration
		hash    string
		outcome oauth.Outcome
		probes  int
	}{
		{reason: "The first call verifies.", hash: "h1", outcome: oauth.OutcomeCredentialsAccepted, probes: 1},
		{reason: "A poll soon after reuses the outcome.", advance: time.Minute, hash: "h1", outcome: oauth.OutcomeCredentialsAccepted, probes: 1},
		{reason: "A new hash verifies at once.", hash: "h2", outcome: oauth.OutcomeCredentialsAccepted, probes: 2},
		{reason: "After the interval it verifies again.", advance: 11 * time.Minute, hash: "h2", outcome: oauth.OutcomeUnreachable, probes: 3},
		{reason: "A failure is kept only briefly.", advance: 10 * time.Second, hash: "h2", outcome: oauth.OutcomeCredentialsAccepted, probes: 3},
		{reason: "A failure is retried after the retry interval.", advance: 31 * time.Second, hash: "h2", outcome: oauth.OutcomeCredentialsAccepted, probes: 4},
	}
	for _, s := range steps {
		now = now.Add(s.advance)
		r.hash = s.hash
		ch.probe = oauth.ProbeResult{Outcome: s.outcome}
		v.Verify(context.Background(), r)
		if diff := cmp.Diff(s.probes, ch.probes); diff != "" {
			t.Errorf("%s probes: -want, +got:\n%s", s.reason, diff)
		}
	}
	v.Forget("u")
	// Past the time a probe is shared, so the count shows the check.
	now = now.Add(31 * time.Second)
	v.Verify(context.Background(), r)
	if ch.probes != 5 {
		t.Errorf("after Forget the next call must verify: probes = %d, want 5", ch.probes)
	}

	// What verification depends on beyond the hash is checked at once too.
	ch.mdErr = errors.New("no metadata here")
	off := false
	// Another CA's certificate: httptest's.
	other := httptest.NewTLSServer(http.NotFoundHandler())
	other.Close()
	otherCA := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: other.Certificate().Raw})
	changes := map[string]func(*request){
		"CABundle": func(r *request) { r.settings.caPEM = otherCA },
		"Timeout":  func(r *request) { r.settings.timeout = 3 * time.Second },
		"Proxy":    func(r *request) { r.settings.proxyURL = "http://proxy.example.com:3128" },
		"Issuer":   func(r *request) { r.te.IssuerURL = "https://other.example.com" },
		"Switches": func(r *request) { r.te.Verification = &v1alpha1.VerificationPolicy{Discovery: &off} },
	}
	for name, change := range changes {
		// Past the time answers are shared, so the count shows each check.
		now = now.Add(31 * time.Second)
		before := ch.probes + ch.discover
		c := r
		c.te = r.te.DeepCopy()
		change(&c)
		v.Verify(context.Background(), c)
		if ch.probes+ch.discover == before {
			t.Errorf("a changed %s must verify again, not reuse the outcome", name)
		}
		v.Verify(context.Background(), r)
	}
}

func TestVerifierClients(t *testing.T) {
	v := newVerifier(NewOAuthChecker, time.Minute, time.Second)
	a, err := v.client(clientSettings{timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := v.client(clientSettings{timeout: time.Second})
	if a != b {
		t.Error("the same settings must share one HTTP client")
	}
	c, _ := v.client(clientSettings{timeout: 2 * time.Second})
	if a == c {
		t.Error("other settings need another HTTP client")
	}
	res := v.Verify(context.Background(), request{uid: "x", hash: "h", settings: clientSettings{caPEM: []byte("junk")}, te: te()})
	if res.outcome != v1alpha1.VerificationFailed {
		t.Errorf("an unusable CA must fail verification, got %s", res.outcome)
	}
}

func TestVerifierSweeps(t *testing.T) {
	now := time.Unix(1000, 0)
	ch := &fakeChecker{probe: oauth.ProbeResult{Outcome: oauth.OutcomeCredentialsAccepted}}
	v := newVerifier(func(*http.Client) Checker { return ch }, 10*time.Minute, 30*time.Second)
	v.now = func() time.Time { return now }
	noIssuer := te(func(c *v1alpha1.TokenExchangeConfig) { c.IssuerURL = "" })

	// "gone" is verified once and then deleted without a reconcile.
	v.Verify(context.Background(), request{uid: "gone", hash: "h", te: noIssuer})
	now = now.Add(9 * time.Minute)
	v.Verify(context.Background(), request{uid: "live", hash: "h", te: noIssuer})
	if _, ok := v.results["gone"]; !ok {
		t.Fatal("a result still fresh must be kept")
	}
	// The sweep runs when a check is stored: here a new hash of "live".
	now = now.Add(2 * time.Minute)
	v.Verify(context.Background(), request{uid: "live", hash: "h2", te: noIssuer})
	if _, ok := v.results["gone"]; ok {
		t.Error("an expired result of a config nobody verifies any more must be dropped")
	}
	if _, ok := v.results["live"]; !ok {
		t.Error("a fresh result must be kept")
	}
}

// blockingChecker holds every probe until released, counting how many wait
// at once.
type blockingChecker struct {
	release  chan struct{}
	inFlight atomic.Int32
	peak     atomic.Int32
}

func (c *blockingChecker) Discover(context.Context, *url.URL) (*oauth.Metadata, string, error) {
	return nil, "", errors.New("not used")
}

func (c *blockingChecker) Probe(context.Context, oauth.ProbeRequest) oauth.ProbeResult {
	n := c.inFlight.Add(1)
	for p := c.peak.Load(); n > p && !c.peak.CompareAndSwap(p, n); p = c.peak.Load() {
	}
	<-c.release
	c.inFlight.Add(-1)
	return oauth.ProbeResult{Outcome: oauth.OutcomeCredentialsAccepted}
}

func TestVerifierBoundsChecks(t *testing.T) {
	cases := map[string]struct {
		reason string
		// namespace and host of request i.
		namespace, host func(i int) string
		want            int32
	}{
		"All": {
			reason:    "However many configs of however many tenants reconcile together, servers see at most maxChecks requests at once.",
			namespace: func(i int) string { return fmt.Sprint("team-", i) },
			host:      func(i int) string { return fmt.Sprint("auth-", i, ".example.com") },
			want:      maxChecks,
		},
		"PerNamespace": {
			reason:    "One tenant's configs hold at most maxPerNamespace, whatever hosts they name.",
			namespace: func(int) string { return "team-a" },
			host:      func(i int) string { return fmt.Sprint("auth-", i, ".example.com") },
			want:      maxPerNamespace,
		},
		"PerHost": {
			reason:    "One host gets at most maxPerHost, whoever asks.",
			namespace: func(i int) string { return fmt.Sprint("team-", i) },
			host:      func(int) string { return "auth.example.com" },
			want:      maxPerHost,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ch := &blockingChecker{release: make(chan struct{})}
			v := newVerifier(func(*http.Client) Checker { return ch }, 10*time.Minute, 30*time.Second)
			var wg sync.WaitGroup
			for i := range 3 * maxChecks {
				wg.Go(func() {
					// Each its own audience: identical probes would be sent once.
					own := te(func(c *v1alpha1.TokenExchangeConfig) {
						c.IssuerURL = ""
						c.TokenURL = "https://" + tc.host(i) + "/token"
						c.Audience = fmt.Sprint("backend-", i)
					})
					v.Verify(context.Background(), request{uid: types.UID(fmt.Sprint(i)), namespace: tc.namespace(i), hash: "h", te: own})
				})
			}
			// Wait until the bound is reached, then let everything through.
			for deadline := time.Now().Add(10 * time.Second); ch.inFlight.Load() < tc.want && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond)
			}
			close(ch.release)
			wg.Wait()
			if got := ch.peak.Load(); got != tc.want {
				t.Errorf("%s\nrequests in flight at once: got %d, want %d", tc.reason, got, tc.want)
			}
		})
	}

	// A reconcile that runs out of time while waiting fails, and says so.
	ch := &blockingChecker{release: make(chan struct{})}
	full := newVerifier(func(*http.Client) Checker { return ch }, 10*time.Minute, 30*time.Second)
	for range maxChecks {
		full.limits.all <- struct{}{}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res := full.Verify(ctx, request{uid: "late", hash: "h", te: te(func(c *v1alpha1.TokenExchangeConfig) { c.IssuerURL = "" })})
	if res.outcome != v1alpha1.VerificationFailed || res.reason != ReasonAuthorizationServerUnreachable {
		t.Errorf("waiting past the deadline: got %s %s, want Failed %s", res.outcome, res.reason, ReasonAuthorizationServerUnreachable)
	}
}

// TestVerifierTarpit: a tenant whose server answers nothing holds only its
// own namespace's slots: another tenant's configs verify meanwhile.
func TestVerifierTarpit(t *testing.T) {
	ch := &tarpit{fakeChecker: fakeChecker{probe: oauth.ProbeResult{Outcome: oauth.OutcomeCredentialsAccepted}}, release: make(chan struct{})}
	defer close(ch.release)
	v := newVerifier(func(*http.Client) Checker { return ch }, 10*time.Minute, 30*time.Second)
	for i := range 3 * maxChecks {
		go v.Verify(context.Background(), request{uid: types.UID(fmt.Sprint("slow-", i)), namespace: "mallory", hash: "h", te: te(func(c *v1alpha1.TokenExchangeConfig) {
			c.IssuerURL = ""
			c.TokenURL = fmt.Sprint("https://tarpit-", i, ".example.com/token")
			c.Audience = fmt.Sprint("a-", i)
		})})
	}
	for deadline := time.Now().Add(10 * time.Second); ch.held.Load() < maxPerNamespace && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res := v.Verify(ctx, request{uid: "alice", namespace: "alice", hash: "h", te: te(func(c *v1alpha1.TokenExchangeConfig) { c.IssuerURL = "" })})
	if res.outcome != v1alpha1.VerificationSucceeded {
		t.Errorf("another tenant's config while %d tarpitted requests wait: got %s %s (%s), want Succeeded", ch.held.Load(), res.outcome, res.reason, res.message)
	}
	if got := ch.held.Load(); got != maxPerNamespace {
		t.Errorf("the tarpit holds %d requests, want its namespace's %d", got, maxPerNamespace)
	}
}

// tarpit never answers probes to hosts named tarpit-*, until released.
type tarpit struct {
	fakeChecker
	release chan struct{}
	held    atomic.Int32
}

func (c *tarpit) Probe(ctx context.Context, r oauth.ProbeRequest) oauth.ProbeResult {
	if strings.Contains(r.TokenURL, "://tarpit-") {
		c.held.Add(1)
		<-c.release
	}
	return c.fakeChecker.Probe(ctx, r)
}

func TestVerifierSharesDiscovery(t *testing.T) {
	now := time.Unix(1000, 0)
	md := &oauth.Metadata{Issuer: issuerURL, TokenEndpoint: tokenURL, GrantTypesSupported: []string{oauth.GrantTypeTokenExchange}}
	ch := &fakeChecker{md: md, probe: oauth.ProbeResult{Outcome: oauth.OutcomeCredentialsAccepted}}
	v := newVerifier(func(*http.Client) Checker { return ch }, 10*time.Minute, 30*time.Second)
	v.now = func() time.Time { return now }
	fast := clientSettings{timeout: time.Second}
	req := func(uid string, s clientSettings, mods ...func(*v1alpha1.TokenExchangeConfig)) request {
		return request{uid: types.UID(uid), hash: "h", settings: s, te: te(mods...)}
	}

	steps := []struct {
		reason    string
		advance   time.Duration
		mdErr     error
		r         request
		outcome   v1alpha1.VerificationOutcome
		discovers int
	}{
		{reason: "The first config of an issuer discovers.", r: req("a", fast), outcome: v1alpha1.VerificationSucceeded, discovers: 1},
		{reason: "Another config of the issuer uses that discovery.", r: req("b", fast), outcome: v1alpha1.VerificationSucceeded, discovers: 1},
		{reason: "Other client settings discover on their own.", r: req("c", clientSettings{timeout: 2 * time.Second}), outcome: v1alpha1.VerificationSucceeded, discovers: 2},
		{reason: "Another issuer discovers on its own.", r: req("d", fast, func(c *v1alpha1.TokenExchangeConfig) { c.IssuerURL = "https://other.example.com" }), outcome: v1alpha1.VerificationSucceeded, discovers: 3},
		{reason: "Past the retry interval a discovery is no longer shared.", advance: 31 * time.Second, mdErr: errors.New("HTTP 503"), r: req("e", fast), outcome: v1alpha1.VerificationFailed, discovers: 4},
		{reason: "A failed discovery is not shared: the next config asks again.", mdErr: errors.New("HTTP 503"), r: req("f", fast), outcome: v1alpha1.VerificationFailed, discovers: 5},
		{reason: "A discovery after a failure is shared again.", r: req("g", fast), outcome: v1alpha1.VerificationSucceeded, discovers: 6},
		{reason: "It serves the next config.", advance: 10 * time.Second, r: req("h", fast), outcome: v1alpha1.VerificationSucceeded, discovers: 6},
	}
	for _, s := range steps {
		now = now.Add(s.advance)
		ch.mdErr = s.mdErr
		got := v.Verify(context.Background(), s.r)
		if diff := cmp.Diff(s.outcome, got.outcome); diff != "" {
			t.Errorf("%s outcome: -want, +got:\n%s\nmessage: %s", s.reason, diff, got.message)
		}
		if diff := cmp.Diff(s.discovers, ch.discover); diff != "" {
			t.Errorf("%s discoveries: -want, +got:\n%s", s.reason, diff)
		}
	}

	// Statuses of configs that shared a discovery must not share memory.
	a, b := v.results["a"].discovery, v.results["b"].discovery
	if a == nil || b == nil {
		t.Fatal("both configs must report their discovery")
	}
	a.GrantTypesSupported[0] = "changed"
	if b.GrantTypesSupported[0] != oauth.GrantTypeTokenExchange || md.GrantTypesSupported[0] != oauth.GrantTypeTokenExchange {
		t.Error("configs that shared a discovery share their grant list")
	}

	// Expired answers are swept with the results.
	now = now.Add(time.Hour)
	v.Verify(context.Background(), req("i", fast, func(c *v1alpha1.TokenExchangeConfig) { c.IssuerURL = "" }))
	for k, a := range v.answers {
		if now.Sub(a.at) >= v.sharedTTL() {
			t.Errorf("expired answer %q must be swept", k)
		}
	}
	if len(v.answers) != 1 {
		t.Errorf("only the sweeping check's own probe may be kept, %d answers are", len(v.answers))
	}
}

// slowDiscovery holds every discovery until released.
type slowDiscovery struct {
	fakeChecker
	release chan struct{}
}

func (c *slowDiscovery) Discover(ctx context.Context, issuer *url.URL) (*oauth.Metadata, string, error) {
	<-c.release
	return c.fakeChecker.Discover(ctx, issuer)
}

func TestVerifierCoalescesDiscovery(t *testing.T) {
	ch := &slowDiscovery{
		fakeChecker: fakeChecker{
			md:    &oauth.Metadata{Issuer: issuerURL, TokenEndpoint: tokenURL},
			probe: oauth.ProbeResult{Outcome: oauth.OutcomeCredentialsAccepted},
		},
		release: make(chan struct{}),
	}
	v := newVerifier(func(*http.Client) Checker { return ch }, 10*time.Minute, 30*time.Second)

	// A config that gives up waiting fails and says why; the discovery it
	// started goes on for the others.
	ctx, cancel := context.WithCancel(context.Background())
	gaveUp := make(chan verification)
	go func() { gaveUp <- v.Verify(ctx, request{uid: "impatient", hash: "h", te: te()}) }()

	var wg sync.WaitGroup
	results := make([]verification, maxChecks-1)
	for i := range results {
		wg.Go(func() {
			results[i] = v.Verify(context.Background(), request{uid: types.UID(fmt.Sprint(i)), hash: "h", te: te()})
		})
	}
	// Waiting for another config's answer holds no slot: only the one
	// discovery in flight does.
	for deadline := time.Now().Add(10 * time.Second); len(v.limits.all) < 1 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if r := <-gaveUp; r.outcome != v1alpha1.VerificationFailed || r.reason != ReasonDiscoveryFailed {
		t.Errorf("giving up: got %s %s, want Failed %s", r.outcome, r.reason, ReasonDiscoveryFailed)
	}
	close(ch.release)
	wg.Wait()
	for i, r := range results {
		if r.outcome != v1alpha1.VerificationSucceeded {
			t.Errorf("config %d: got %s (%s), want Succeeded", i, r.outcome, r.message)
		}
	}
	if ch.discover != 1 {
		t.Errorf("configs verified at once must wait for one discovery: got %d discoveries", ch.discover)
	}
}

func TestVerifierSharesProbes(t *testing.T) {
	now := time.Unix(1000, 0)
	ch := &fakeChecker{probe: oauth.ProbeResult{Outcome: oauth.OutcomeCredentialsAccepted}}
	v := newVerifier(func(*http.Client) Checker { return ch }, 10*time.Minute, 30*time.Second)
	v.now = func() time.Time { return now }
	req := func(uid, ns, secret string, mods ...func(*v1alpha1.TokenExchangeConfig)) request {
		mods = append(mods, func(c *v1alpha1.TokenExchangeConfig) { c.IssuerURL = "" })
		return request{uid: types.UID(uid), namespace: ns, hash: "h", secret: secret, te: te(mods...)}
	}
	steps := []struct {
		reason  string
		advance time.Duration
		answer  oauth.Outcome
		r       request
		outcome v1alpha1.VerificationOutcome
		probes  int
	}{
		{reason: "The first config probes.", answer: oauth.OutcomeCredentialsAccepted, r: req("a", "team-a", "s1"), outcome: v1alpha1.VerificationSucceeded, probes: 1},
		{reason: "A config of the namespace that would send the same probe shares it.", r: req("b", "team-a", "s1"), outcome: v1alpha1.VerificationSucceeded, probes: 1},
		{reason: "Another namespace probes on its own.", r: req("c", "team-b", "s1"), outcome: v1alpha1.VerificationSucceeded, probes: 2},
		{reason: "Another secret probes on its own.", r: req("d", "team-a", "s2"), outcome: v1alpha1.VerificationSucceeded, probes: 3},
		{reason: "Another audience probes on its own.", r: req("e", "team-a", "s1", func(c *v1alpha1.TokenExchangeConfig) { c.Audience = "other" }), outcome: v1alpha1.VerificationSucceeded, probes: 4},
		{reason: "Other scopes probe on their own.", r: req("f", "team-a", "s1", func(c *v1alpha1.TokenExchangeConfig) { c.Scopes = []string{"read"} }), outcome: v1alpha1.VerificationSucceeded, probes: 5},
		{reason: "Past the retry interval a probe is no longer shared.", advance: 31 * time.Second, answer: oauth.OutcomeCredentialsRejected, r: req("g", "team-a", "s1"), outcome: v1alpha1.VerificationFailed, probes: 6},
		{reason: "A failed probe is not shared.", r: req("h", "team-a", "s1"), outcome: v1alpha1.VerificationFailed, probes: 7},
	}
	for _, s := range steps {
		now = now.Add(s.advance)
		if s.answer != "" {
			ch.probe = oauth.ProbeResult{Outcome: s.answer}
		}
		got := v.Verify(context.Background(), s.r)
		if diff := cmp.Diff(s.outcome, got.outcome); diff != "" {
			t.Errorf("%s outcome: -want, +got:\n%s", s.reason, diff)
		}
		if diff := cmp.Diff(s.probes, ch.probes); diff != "" {
			t.Errorf("%s probes: -want, +got:\n%s", s.reason, diff)
		}
	}
}

func TestProbeKey(t *testing.T) {
	base := oauth.ProbeRequest{TokenURL: tokenURL, ClientID: "mcp-proxy", ClientSecret: "s3cr3t-value", Audience: "backend", Scopes: []string{"a", "b"}}
	k := probeKey("settings", "team-a", base)
	if strings.Contains(k, base.ClientSecret) {
		t.Fatal("the probe key holds the client secret")
	}
	changes := map[string]func(*oauth.ProbeRequest){
		"Secret":   func(r *oauth.ProbeRequest) { r.ClientSecret = "other" },
		"ClientID": func(r *oauth.ProbeRequest) { r.ClientID = "other" },
		"TokenURL": func(r *oauth.ProbeRequest) { r.TokenURL = "https://other.example.com/token" },
		"Audience": func(r *oauth.ProbeRequest) { r.Audience = "other" },
		"Scopes":   func(r *oauth.ProbeRequest) { r.Scopes = []string{"a"} },
		"Joined":   func(r *oauth.ProbeRequest) { r.Scopes = []string{"ab"} },
		"Type":     func(r *oauth.ProbeRequest) { r.SubjectTokenType = "jwt" },
		"Boundary": func(r *oauth.ProbeRequest) { r.ClientID, r.ClientSecret = "mcp-proxys3cr3t", "-value" },
	}
	for name, change := range changes {
		r := base
		r.Scopes = slices.Clone(base.Scopes)
		change(&r)
		if probeKey("settings", "team-a", r) == k {
			t.Errorf("a probe with another %s has the same key", name)
		}
	}
	if probeKey("settings", "team-b", base) == k || probeKey("other", "team-a", base) == k {
		t.Error("probes of another namespace or other client settings have the same key")
	}
}
