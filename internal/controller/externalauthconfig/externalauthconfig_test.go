package externalauthconfig

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/crossplane/crossplane-runtime/v2/pkg/event"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	"github.com/crossplane/crossplane-runtime/v2/pkg/test"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/crossmcp/provider-mcp/apis"
	"github.com/crossmcp/provider-mcp/apis/auth/v1alpha1"
	mcpv1alpha1 "github.com/crossmcp/provider-mcp/apis/v1alpha1"
	"github.com/crossmcp/provider-mcp/internal/authconfig"
	"github.com/crossmcp/provider-mcp/internal/oauth"
)

const (
	ns         = "team-a"
	secretVal  = "s3cr3t-value"
	tokenURL   = "https://auth.example.com/oauth2/token"
	issuerURL  = "https://auth.example.com"
	configName = "idp"
)

func scheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	if err := apis.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return s
}

type eacMod func(*v1alpha1.ExternalAuthConfig)

func eac(mods ...eacMod) *v1alpha1.ExternalAuthConfig {
	mg := &v1alpha1.ExternalAuthConfig{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: configName, UID: "uid-1"},
		Spec: v1alpha1.ExternalAuthConfigSpec{
			ManagedResourceSpec: xpv2.ManagedResourceSpec{
				ProviderConfigReference:          &xpv2.ProviderConfigReference{Kind: "ClusterProviderConfig", Name: "default"},
				WriteConnectionSecretToReference: &xpv2.LocalSecretReference{Name: "idp-conn"},
				ManagementPolicies:               xpv2.ManagementPolicies{xpv2.ManagementActionAll},
			},
			ForProvider: v1alpha1.ExternalAuthConfigParameters{
				Type: v1alpha1.TypeTokenExchange,
				TokenExchange: &v1alpha1.TokenExchangeConfig{
					TokenURL:        tokenURL,
					ClientID:        "mcp-proxy",
					ClientSecretRef: &v1alpha1.SecretKeyRef{Name: "idp-client", Key: "secret"},
					Audience:        "backend",
					Scopes:          []string{"read"},
				},
			},
		},
	}
	for _, m := range mods {
		m(mg)
	}
	return mg
}

func clientSecret(v string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "idp-client"},
		Data:       map[string][]byte{"secret": []byte(v)},
	}
}

// fakeChecker answers like an authorization server would, and counts calls.
type fakeChecker struct {
	mu       sync.Mutex
	md       *oauth.Metadata
	mdErr    error
	probe    oauth.ProbeResult
	discover int
	probes   int
	secrets  []string
}

func (f *fakeChecker) Discover(_ context.Context, issuer *url.URL) (*oauth.Metadata, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.discover++
	return f.md, issuer.String() + "/.well-known/oauth-authorization-server", f.mdErr
}

func (f *fakeChecker) Probe(_ context.Context, r oauth.ProbeRequest) oauth.ProbeResult {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.probes++
	f.secrets = append(f.secrets, r.ClientSecret)
	return f.probe
}

func accepted() *fakeChecker {
	return &fakeChecker{probe: oauth.ProbeResult{Outcome: oauth.OutcomeCredentialsAccepted, HTTPStatus: 400, ErrorCode: "invalid_grant"}}
}

// recorder keeps the events it is given.
type recorder struct{ events []event.Event }

func (r *recorder) Event(_ runtime.Object, e event.Event)    { r.events = append(r.events, e) }
func (r *recorder) WithAnnotations(...string) event.Recorder { return r }

func newExternal(t *testing.T, c client.Client, ch Checker) (*external, *recorder) {
	t.Helper()
	rec := &recorder{}
	v := newVerifier(func(*http.Client) Checker { return ch }, 10*time.Minute, 30*time.Second)
	return &external{kube: c, hashKey: []byte("a test key of thirty-two bytes!!"), verifier: v, recorder: rec, policies: true, settings: clientSettings{timeout: time.Second}}, rec
}

func readyOf(mg *v1alpha1.ExternalAuthConfig) xpv2.Condition {
	c := mg.GetCondition(xpv2.TypeReady)
	c.LastTransitionTime = metav1.Time{}
	return c
}

func TestObserve(t *testing.T) {
	type args struct {
		mg      *v1alpha1.ExternalAuthConfig
		objs    []client.Object
		checker *fakeChecker
		allowed []string
	}
	type want struct {
		err     string
		exists  bool
		upToDat bool
		ready   xpv2.Condition
		keys    []string
		events  []event.Reason
		// published is status.atProvider.publishedConfigHash; current
		// stands for the configHash Observe computed.
		published string
		// clientSecret is the client_secret to publish, when set.
		clientSecret string
	}
	const current = "<configHash>"
	// earlier is what the connection secret holds from an earlier,
	// accepted configuration.
	earlier := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "idp-conn"},
		Data:       map[string][]byte{"client_secret": []byte("accepted-earlier"), "config_hash": []byte("hash-accepted")},
	}
	rejected := func() *fakeChecker {
		return &fakeChecker{probe: oauth.ProbeResult{
			Outcome: oauth.OutcomeCredentialsRejected, HTTPStatus: 401, ErrorCode: "invalid_client", Message: "the server rejected the client credentials (invalid_client)",
		}}
	}
	notReady := func(reason xpv2.ConditionReason, msg string) xpv2.Condition {
		return xpv2.Condition{Type: xpv2.TypeReady, Status: corev1.ConditionFalse, Reason: reason, Message: msg}
	}
	tokenKeys := []string{"audience", "client_id", "client_secret", "config_hash", "external_token_header_name", "header_strategy", "scopes", "subject_token_type", "token_url", "type"}
	cases := map[string]struct {
		reason string
		args   args
		want   want
	}{
		"Deleted": {
			reason: "A deleted config has nothing external left, whatever its secrets.",
			args: args{mg: eac(func(mg *v1alpha1.ExternalAuthConfig) {
				now := metav1.Now()
				mg.SetDeletionTimestamp(&now)
			}), checker: accepted()},
			want: want{exists: false},
		},
		"SecretMissing": {
			reason: "A missing client secret is a clear Ready=False and an error, with nothing published.",
			args:   args{mg: eac(), checker: accepted()},
			want: want{
				err:   `secret "idp-client" not found in namespace "team-a"`,
				ready: notReady(authconfig.ReasonSecretNotFound, `secret "idp-client" not found in namespace "team-a"`),
			},
		},
		"SecretKeyMissing": {
			reason: "A missing key is named.",
			args: args{mg: eac(), checker: accepted(), objs: []client.Object{&corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "idp-client"},
				Data:       map[string][]byte{"other": []byte("x")},
			}}},
			want: want{
				err:   `secret "idp-client" has no key "secret"`,
				ready: notReady(authconfig.ReasonSecretKeyNotFound, `secret "idp-client" has no key "secret"`),
			},
		},
		"SecretEmpty": {
			reason: "An empty secret value is refused.",
			args:   args{mg: eac(), checker: accepted(), objs: []client.Object{clientSecret("")}},
			want: want{
				err:   `key "secret" of secret "idp-client" is empty`,
				ready: notReady(authconfig.ReasonSecretValueEmpty, `key "secret" of secret "idp-client" is empty`),
			},
		},
		"HostNotAllowed": {
			reason: "A token host outside the allow-list is refused before any request.",
			args:   args{mg: eac(), checker: accepted(), objs: []client.Object{clientSecret(secretVal)}, allowed: []string{"idp.internal"}},
			want: want{
				err:   `host "auth.example.com" is not in the provider config's allowedTokenHosts [idp.internal]`,
				ready: notReady(authconfig.ReasonHostNotAllowed, `host "auth.example.com" is not in the provider config's allowedTokenHosts [idp.internal]`),
			},
		},
		"Verified": {
			reason: "A good config is Ready, verified, and publishes every key; its first verification is no event.",
			args:   args{mg: eac(), checker: accepted(), objs: []client.Object{clientSecret(secretVal)}},
			want: want{
				exists: true, upToDat: true,
				ready:        xpv2.Available().WithMessage("the token endpoint accepted the client credentials"),
				keys:         tokenKeys,
				published:    current,
				clientSecret: secretVal,
			},
		},
		"VerifiedReplacesAccepted": {
			reason: "A new configuration the server accepts replaces the one published before.",
			args:   args{mg: eac(), checker: accepted(), objs: []client.Object{clientSecret(secretVal), earlier.DeepCopy()}},
			want: want{
				exists: true, upToDat: true,
				ready:        xpv2.Available().WithMessage("the token endpoint accepted the client credentials"),
				keys:         tokenKeys,
				published:    current,
				clientSecret: secretVal,
			},
		},
		"VerificationOff": {
			reason: "With verification switched off, what the user configured is published.",
			args: args{mg: eac(func(mg *v1alpha1.ExternalAuthConfig) {
				mg.Spec.ForProvider.TokenExchange.Verification = &v1alpha1.VerificationPolicy{Discovery: ptr.To(false), CredentialProbe: ptr.To(false)}
			}), checker: rejected(), objs: []client.Object{clientSecret(secretVal), earlier.DeepCopy()}},
			want: want{
				exists: true, upToDat: true,
				ready:        xpv2.Available().WithMessage("verification is switched off"),
				keys:         tokenKeys,
				published:    current,
				clientSecret: secretVal,
			},
		},
		"Recovered": {
			reason: "A config verified after a failure says so in an event.",
			args: args{mg: eac(func(mg *v1alpha1.ExternalAuthConfig) {
				mg.Status.AtProvider.Verification = &v1alpha1.VerificationObservation{Outcome: v1alpha1.VerificationFailed, Reason: string(ReasonCredentialsRejected)}
			}), checker: accepted(), objs: []client.Object{clientSecret(secretVal)}},
			want: want{
				exists: true, upToDat: true,
				ready:     xpv2.Available().WithMessage("the token endpoint accepted the client credentials"),
				keys:      tokenKeys,
				events:    []event.Reason{reasonVerified},
				published: current,
			},
		},
		"CredentialsRejected": {
			reason: "Rejected credentials make the config not Ready with a clear reason and an event; nothing is published while nothing was accepted.",
			args:   args{mg: eac(), objs: []client.Object{clientSecret(secretVal)}, checker: rejected()},
			want: want{
				exists: true, upToDat: true,
				ready:  notReady(ReasonCredentialsRejected, "token endpoint "+tokenURL+": the server rejected the client credentials (invalid_client); nothing is published until the authorization server accepts the configuration"),
				events: []event.Reason{reasonVerificationFailed},
			},
		},
		"CredentialsRejectedKeepsAccepted": {
			reason: "Rejected credentials never replace accepted ones: the connection secret keeps what was accepted, and the condition says so.",
			args:   args{mg: eac(), objs: []client.Object{clientSecret(secretVal), earlier.DeepCopy()}, checker: rejected()},
			want: want{
				exists: true, upToDat: true,
				ready:        notReady(ReasonCredentialsRejected, "token endpoint "+tokenURL+": the server rejected the client credentials (invalid_client); the connection secret keeps the configuration accepted earlier (configHash hash-accepted)"),
				keys:         []string{"client_secret", "config_hash"},
				events:       []event.Reason{reasonVerificationFailed},
				published:    "hash-accepted",
				clientSecret: "accepted-earlier",
			},
		},
		"UnreachableKeepsAccepted": {
			reason: "While the server cannot be reached, a new configuration is not published: nothing vouches for it.",
			args: args{mg: eac(), objs: []client.Object{clientSecret(secretVal), earlier.DeepCopy()}, checker: &fakeChecker{probe: oauth.ProbeResult{
				Outcome: oauth.OutcomeUnreachable, Message: "connection refused",
			}}},
			want: want{
				exists: true, upToDat: true,
				ready:        notReady(ReasonAuthorizationServerUnreachable, "token endpoint "+tokenURL+": connection refused; the connection secret keeps the configuration accepted earlier (configHash hash-accepted)"),
				keys:         []string{"client_secret", "config_hash"},
				events:       []event.Reason{reasonVerificationFailed},
				published:    "hash-accepted",
				clientSecret: "accepted-earlier",
			},
		},
		"Unauthenticated": {
			reason: "A config without secrets or servers is simply Ready.",
			args: args{mg: eac(func(mg *v1alpha1.ExternalAuthConfig) {
				mg.Spec.ForProvider = v1alpha1.ExternalAuthConfigParameters{Type: v1alpha1.TypeUnauthenticated}
			}), checker: accepted()},
			want: want{exists: true, upToDat: true, ready: xpv2.Available(), keys: []string{"config_hash", "type"}, published: current},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := fake.NewClientBuilder().WithScheme(scheme(t)).WithObjects(tc.args.objs...).Build()
			e, rec := newExternal(t, c, tc.args.checker)
			e.settings.allowed = tc.args.allowed
			obs, err := e.Observe(context.Background(), tc.args.mg)

			if tc.want.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want.err) {
					t.Fatalf("\n%s\nObserve(...): want error containing %q, got %v", tc.reason, tc.want.err, err)
				}
			} else if err != nil {
				t.Fatalf("\n%s\nObserve(...): unexpected error %v", tc.reason, err)
			}
			if diff := cmp.Diff(tc.want.exists, obs.ResourceExists); diff != "" {
				t.Errorf("\n%s\nObserve(...) exists: -want, +got:\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff(tc.want.upToDat, obs.ResourceUpToDate); diff != "" {
				t.Errorf("\n%s\nObserve(...) up to date: -want, +got:\n%s", tc.reason, diff)
			}
			var keys []string
			for k := range obs.ConnectionDetails {
				keys = append(keys, k)
			}
			if diff := cmp.Diff(tc.want.keys, keys, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
				t.Errorf("\n%s\nObserve(...) connection keys: -want, +got:\n%s", tc.reason, diff)
			}
			if tc.want.ready.Type != "" {
				if diff := cmp.Diff(tc.want.ready, readyOf(tc.args.mg)); diff != "" {
					t.Errorf("\n%s\nObserve(...) Ready: -want, +got:\n%s", tc.reason, diff)
				}
			}
			published := tc.args.mg.Status.AtProvider.PublishedConfigHash
			if published != "" && published == tc.args.mg.Status.AtProvider.ConfigHash {
				published = current
			}
			if diff := cmp.Diff(tc.want.published, published); diff != "" {
				t.Errorf("\n%s\nObserve(...) publishedConfigHash: -want, +got:\n%s", tc.reason, diff)
			}
			if tc.want.clientSecret != "" {
				if diff := cmp.Diff(tc.want.clientSecret, string(obs.ConnectionDetails[authconfig.KeyClientSecret])); diff != "" {
					t.Errorf("\n%s\nObserve(...) client_secret: -want, +got:\n%s", tc.reason, diff)
				}
			}
			var reasons []event.Reason
			for _, e := range rec.events {
				reasons = append(reasons, e.Reason)
			}
			if diff := cmp.Diff(tc.want.events, reasons); diff != "" {
				t.Errorf("\n%s\nObserve(...) events: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestObserveDetailsAndHash(t *testing.T) {
	c := fake.NewClientBuilder().WithScheme(scheme(t)).WithObjects(clientSecret(secretVal)).Build()
	ch := accepted()
	e, _ := newExternal(t, c, ch)
	mg := eac()
	obs, err := e.Observe(context.Background(), mg)
	if err != nil {
		t.Fatal(err)
	}
	hash := mg.Status.AtProvider.ConfigHash
	if diff := cmp.Diff(hash, string(obs.ConnectionDetails[authconfig.KeyConfigHash])); diff != "" {
		t.Errorf("config_hash key: -status, +published:\n%s", diff)
	}
	if diff := cmp.Diff(secretVal, string(obs.ConnectionDetails[authconfig.KeyClientSecret])); diff != "" {
		t.Errorf("client_secret key: -want, +got:\n%s", diff)
	}
	if diff := cmp.Diff([]string{secretVal}, ch.secrets); diff != "" {
		t.Errorf("probe secret: -want, +got:\n%s", diff)
	}
	if strings.Contains(mg.Status.AtProvider.ConfigHash, secretVal) || strings.Contains(mg.Status.AtProvider.Verification.Message, secretVal) {
		t.Error("status carries the secret value")
	}

	// Rotation: a new secret value, same spec, gives a new hash.
	s := &corev1.Secret{}
	if err := c.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: "idp-client"}, s); err != nil {
		t.Fatal(err)
	}
	s.Data["secret"] = []byte("rotated")
	if err := c.Update(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	obs2, err := e.Observe(context.Background(), mg)
	if err != nil {
		t.Fatal(err)
	}
	if mg.Status.AtProvider.ConfigHash == hash {
		t.Error("ConfigHash did not change when the secret was rotated")
	}
	if diff := cmp.Diff("rotated", string(obs2.ConnectionDetails[authconfig.KeyClientSecret])); diff != "" {
		t.Errorf("rotated client_secret: -want, +got:\n%s", diff)
	}
	if diff := cmp.Diff(2, ch.probes); diff != "" {
		t.Errorf("a new hash must re-verify: probes -want, +got:\n%s", diff)
	}
}

func TestObserveOnlyPolicy(t *testing.T) {
	observeOnly := func(mg *v1alpha1.ExternalAuthConfig) {
		mg.SetManagementPolicies(xpv2.ManagementPolicies{xpv2.ManagementActionObserve})
	}
	published := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "idp-conn"},
		Data:       map[string][]byte{"token_url": []byte("https://old.example.com/token")},
	}
	cases := map[string]struct {
		reason   string
		objs     []client.Object
		wantData managed.ConnectionDetails
		upToDate bool
	}{
		"NothingPublished": {
			reason:   "With nothing published, Observe-only publishes nothing.",
			objs:     []client.Object{clientSecret(secretVal)},
			upToDate: true,
		},
		"StalePublished": {
			reason:   "A stale connection secret is reported, and left as it is.",
			objs:     []client.Object{clientSecret(secretVal), published},
			wantData: published.Data,
			upToDate: false,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := fake.NewClientBuilder().WithScheme(scheme(t)).WithObjects(tc.objs...).Build()
			e, _ := newExternal(t, c, accepted())
			mg := eac(observeOnly)
			obs, err := e.Observe(context.Background(), mg)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantData, obs.ConnectionDetails, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("\n%s\nObserve(...) details: -want, +got:\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff(tc.upToDate, obs.ResourceUpToDate); diff != "" {
				t.Errorf("\n%s\nObserve(...) up to date: -want, +got:\n%s", tc.reason, diff)
			}
			if mg.Status.AtProvider.ConfigHash == "" {
				t.Errorf("\n%s\nObserve-only must still report the hash", tc.reason)
			}
		})
	}
}

func TestObserveGetSecretError(t *testing.T) {
	boom := errors.New("boom")
	c := &test.MockClient{MockGet: test.NewMockGetFn(boom)}
	e, _ := newExternal(t, c, accepted())
	_, err := e.Observe(context.Background(), eac())
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), errGetSecret) {
		t.Errorf("Observe(...): want %q wrapping boom, got %v", errGetSecret, err)
	}
}

func TestCreateUpdateDelete(t *testing.T) {
	c := fake.NewClientBuilder().WithScheme(scheme(t)).WithObjects(clientSecret(secretVal)).Build()
	e, _ := newExternal(t, c, accepted())
	mg := eac()
	obs, err := e.Observe(context.Background(), mg)
	if err != nil {
		t.Fatal(err)
	}
	cr, err := e.Create(context.Background(), mg)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(obs.ConnectionDetails, cr.ConnectionDetails); diff != "" {
		t.Errorf("Create(...) details: -observed, +created:\n%s", diff)
	}
	up, err := e.Update(context.Background(), mg)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(obs.ConnectionDetails, up.ConnectionDetails); diff != "" {
		t.Errorf("Update(...) details: -observed, +updated:\n%s", diff)
	}
	if _, err := e.Delete(context.Background(), mg); err != nil {
		t.Errorf("Delete(...): %v", err)
	}
	if _, ok := e.verifier.results[mg.GetUID()]; ok {
		t.Error("Delete(...) must forget the verification")
	}
	if err := e.Disconnect(context.Background()); err != nil {
		t.Errorf("Disconnect(...): %v", err)
	}
}

func TestConnect(t *testing.T) {
	testCAPEM := newCAPEM(t)
	caSecret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "crossplane-system", Name: "idp-ca"},
		Data:       map[string][]byte{"ca.crt": []byte(testCAPEM)},
	}
	cpc := func(mod func(*mcpv1alpha1.ClusterProviderConfig)) *mcpv1alpha1.ClusterProviderConfig {
		pc := &mcpv1alpha1.ClusterProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: "default"}}
		if mod != nil {
			mod(pc)
		}
		return pc
	}
	withCA := func(name, key string) func(*mcpv1alpha1.ClusterProviderConfig) {
		return func(pc *mcpv1alpha1.ClusterProviderConfig) {
			pc.Spec.CABundle = &mcpv1alpha1.CABundleSource{SecretRef: &mcpv1alpha1.KeyReference{
				LocalKeyReference: mcpv1alpha1.LocalKeyReference{Name: name, Key: key}, Namespace: "crossplane-system",
			}}
			pc.Spec.HTTPTimeout = &metav1.Duration{Duration: 3 * time.Second}
			pc.Spec.AllowedTokenHosts = []string{"auth.example.com"}
		}
	}
	type want struct {
		err      string
		reason   xpv2.ConditionReason
		settings clientSettings
	}
	namespaced := func(cs mcpv1alpha1.ConnectionSettings) []client.Object {
		return []client.Object{&mcpv1alpha1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "local"}, Spec: mcpv1alpha1.ProviderConfigSpec{ConnectionSettings: cs}}}
	}
	useLocal := func(mg *v1alpha1.ExternalAuthConfig) {
		mg.Spec.ProviderConfigReference = &xpv2.ProviderConfigReference{Kind: "ProviderConfig", Name: "local"}
	}
	cases := map[string]struct {
		reason string
		mg     *v1alpha1.ExternalAuthConfig
		objs   []client.Object
		// namespacedPrivate is --namespaced-private-networks.
		namespacedPrivate bool
		want              want
	}{
		"ClusterPrivateNetworks": {
			reason: "A ClusterProviderConfig, the platform's, may allow private networks.",
			mg:     eac(),
			objs:   []client.Object{cpc(func(pc *mcpv1alpha1.ClusterProviderConfig) { pc.Spec.AllowPrivateNetworks = true })},
			want:   want{settings: clientSettings{timeout: defaultHTTPTimeout, networks: oauth.PrivateAllowed}},
		},
		"NamespacedPrivateNetworksRefused": {
			reason: "A tenant's namespaced ProviderConfig cannot allow what the cluster-wide settings forbid: the provider would probe in-cluster addresses on its behalf.",
			mg:     eac(useLocal),
			objs:   namespaced(mcpv1alpha1.ConnectionSettings{AllowPrivateNetworks: true}),
			want:   want{err: `ProviderConfig "local" sets allowPrivateNetworks, which only a ClusterProviderConfig may`, reason: ReasonProviderConfigInvalid},
		},
		"NamespacedPrivateNetworksLetThrough": {
			reason: "With --namespaced-private-networks the platform lets namespaced ProviderConfigs allow them.",
			mg:     eac(useLocal), namespacedPrivate: true,
			objs: namespaced(mcpv1alpha1.ConnectionSettings{AllowPrivateNetworks: true}),
			want: want{settings: clientSettings{timeout: defaultHTTPTimeout, networks: oauth.PrivateAllowed}},
		},
		"NamespacedPublicOnly": {
			reason: "A namespaced ProviderConfig reaches public addresses only, by default.",
			mg:     eac(useLocal), namespacedPrivate: true,
			objs: namespaced(mcpv1alpha1.ConnectionSettings{}),
			want: want{settings: clientSettings{timeout: defaultHTTPTimeout, networks: oauth.PublicOnly}},
		},
		"TimeoutCapped": {
			reason: "A timeout beyond the cap would let one server hold the provider's checks for long.",
			mg:     eac(useLocal),
			objs:   namespaced(mcpv1alpha1.ConnectionSettings{HTTPTimeout: &metav1.Duration{Duration: 10 * time.Minute}}),
			want:   want{err: "httpTimeout 10m0s is more than 30s", reason: ReasonProviderConfigInvalid},
		},
		"Deleted": {
			reason: "A config being deleted connects without its provider config.",
			mg: eac(func(mg *v1alpha1.ExternalAuthConfig) {
				now := metav1.Now()
				mg.SetDeletionTimestamp(&now)
			}),
		},
		"ClusterProviderConfigMissing": {
			reason: "A missing provider config is a clear reason.",
			mg:     eac(),
			want:   want{err: `ClusterProviderConfig "default" not found`, reason: ReasonProviderConfigNotFound},
		},
		"ClusterProviderConfigDefaults": {
			reason: "A bare provider config gives the default timeout.",
			mg:     eac(),
			objs:   []client.Object{cpc(nil)},
			want:   want{settings: clientSettings{timeout: defaultHTTPTimeout}},
		},
		"ClusterProviderConfigWithCA": {
			reason: "The CA bundle, timeout and allow-list are read.",
			mg:     eac(),
			objs:   []client.Object{cpc(withCA("idp-ca", "ca.crt")), caSecret},
			want:   want{settings: clientSettings{caPEM: []byte(testCAPEM), timeout: 3 * time.Second, allowed: []string{"auth.example.com"}}},
		},
		"CAMissing": {
			reason: "An unreadable CA bundle is a clear reason.",
			mg:     eac(),
			objs:   []client.Object{cpc(withCA("nope", "ca.crt"))},
			want:   want{err: "CA bundle Secret crossplane-system/nope", reason: ReasonCABundleUnavailable},
		},
		"CAKeyMissing": {
			reason: "A CA bundle key that is not there is a clear reason.",
			mg:     eac(),
			objs:   []client.Object{cpc(withCA("idp-ca", "other")), caSecret},
			want:   want{err: "is missing or empty", reason: ReasonCABundleUnavailable},
		},
		"CANotPEM": {
			reason: "A CA bundle that is not PEM is a clear reason.",
			mg:     eac(),
			objs: []client.Object{cpc(withCA("idp-ca", "ca.crt")), &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Namespace: "crossplane-system", Name: "idp-ca"},
				Data:       map[string][]byte{"ca.crt": []byte("not a certificate")},
			}},
			want: want{err: "holds no PEM certificate", reason: ReasonCABundleUnavailable},
		},
		"NamespacedProviderConfig": {
			reason: "A namespaced provider config is read from the config's namespace, with a ConfigMap CA.",
			mg: eac(func(mg *v1alpha1.ExternalAuthConfig) {
				mg.Spec.ProviderConfigReference = &xpv2.ProviderConfigReference{Kind: "ProviderConfig", Name: "local"}
			}),
			objs: []client.Object{
				&mcpv1alpha1.ProviderConfig{
					ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "local"},
					Spec: mcpv1alpha1.ProviderConfigSpec{
						CABundle:           &mcpv1alpha1.LocalCABundleSource{ConfigMapRef: &mcpv1alpha1.LocalKeyReference{Name: "ca", Key: "ca.crt"}},
						ConnectionSettings: mcpv1alpha1.ConnectionSettings{ProxyURL: "http://proxy.internal:3128"},
					},
				},
				&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ca"}, Data: map[string]string{"ca.crt": testCAPEM}},
			},
			want: want{settings: clientSettings{caPEM: []byte(testCAPEM), timeout: defaultHTTPTimeout, proxyURL: "http://proxy.internal:3128"}},
		},
		"NamespacedProviderConfigMissing": {
			reason: "A namespaced provider config is looked up in the config's namespace only.",
			mg: eac(func(mg *v1alpha1.ExternalAuthConfig) {
				mg.Spec.ProviderConfigReference = &xpv2.ProviderConfigReference{Kind: "ProviderConfig", Name: "local"}
			}),
			want: want{err: `ProviderConfig "local" in namespace "team-a" not found`, reason: ReasonProviderConfigNotFound},
		},
		"UnknownKind": {
			reason: "A provider config kind we do not serve is refused.",
			mg: eac(func(mg *v1alpha1.ExternalAuthConfig) {
				mg.Spec.ProviderConfigReference = &xpv2.ProviderConfigReference{Kind: "Other", Name: "x"}
			}),
			want: want{err: `kind "Other"`, reason: ReasonProviderConfigInvalid},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := fake.NewClientBuilder().WithScheme(scheme(t)).WithObjects(tc.objs...).Build()
			conn := &connector{
				kube:              c,
				verifier:          newVerifier(NewOAuthChecker, time.Minute, time.Second),
				recorder:          event.NewNopRecorder(),
				namespacedPrivate: tc.namespacedPrivate,
			}
			ext, err := conn.Connect(context.Background(), tc.mg)
			if tc.want.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want.err) {
					t.Fatalf("\n%s\nConnect(...): want error containing %q, got %v", tc.reason, tc.want.err, err)
				}
				if tc.want.reason != "" {
					if diff := cmp.Diff(tc.want.reason, readyOf(tc.mg).Reason); diff != "" {
						t.Errorf("\n%s\nConnect(...) Ready reason: -want, +got:\n%s", tc.reason, diff)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("\n%s\nConnect(...): %v", tc.reason, err)
			}
			if diff := cmp.Diff(tc.want.settings, ext.(*external).settings, cmp.AllowUnexported(clientSettings{}), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("\n%s\nConnect(...) settings: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

// newCAPEM makes a self-signed CA certificate for the test.
func newCAPEM(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}
