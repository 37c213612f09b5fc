//go:build integration

package integration

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/crossmcp/provider-mcp/apis/auth/v1alpha1"
	mcpv1alpha1 "github.com/crossmcp/provider-mcp/apis/v1alpha1"
	"github.com/crossmcp/provider-mcp/internal/controller/externalauthconfig"
	"github.com/crossmcp/provider-mcp/internal/oauth"
	"github.com/crossmcp/provider-mcp/test/pki"
	"github.com/crossmcp/provider-mcp/test/wait"
)

// The bad-input matrix, one table per layer:
//
//   - TestBadInputExternalAuthConfig: the CRD schema (the real apiserver) and
//     the provider's controller, each case breaking a config that already
//     runs and has published its connection secret.
//   - TestBadInputMCPServer: the XRD schema (the real apiserver), each case
//     breaking an MCPServer that already exists.
//   - TestBadInputAuthorizationServer: the provider's verification against a
//     real TLS authorization server that starts to misbehave.
//   - internal/function's TestBadInputFunction: the composition function.
//
// Every case asserts the exact condition (or API error) and that nothing else
// changed: the published connection secret keeps its data and
// resourceVersion, the stored object its resourceVersion.

const (
	connSecretName = "backend-api-token-exchange"
	providerConfig = "pc"
	caSecretName   = "idp-ca"

	// watched is how soon a change the provider watches must show. It is
	// far below the manager's poll interval (main_test.go), so only a watch
	// can bring it in time.
	watched = 10 * time.Second
)

// published is a connection secret as its consumers see it.
type published struct {
	Data            map[string]string
	ResourceVersion string
}

func getPublished(t *testing.T, ns string) published {
	t.Helper()
	s := &corev1.Secret{}
	if err := kube.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: connSecretName}, s); err != nil {
		t.Fatalf("cannot get the connection secret: %v", err)
	}
	p := published{Data: map[string]string{}, ResourceVersion: s.ResourceVersion}
	for k, v := range s.Data {
		p.Data[k] = string(v)
	}
	return p
}

// running is an ExternalAuthConfig that is Ready and has published its
// connection secret, with a ProviderConfig of its own.
type running struct {
	ns, name string
	mg       *v1alpha1.ExternalAuthConfig // as it was once Ready
	secret   published
}

type runOptions struct {
	tokenURL, issuerURL string        // default: the test authorization server's
	caPEM               []byte        // default: the test authorization server's CA
	timeout             time.Duration // the provider config's httpTimeout; default 10s
	// cluster gives the config a ClusterProviderConfig of its own, named
	// after the namespace, instead of a ProviderConfig.
	cluster bool
}

// startRunning creates a namespace with a ProviderConfig (or a
// ClusterProviderConfig), the CA bundle and client Secrets and a config using
// them, and waits until the config is Ready and has published its connection
// secret.
func startRunning(t *testing.T, o runOptions) running {
	t.Helper()
	ns := namespace(t)
	if o.caPEM == nil {
		o.caPEM = idp.CAPEM
	}
	if o.timeout == 0 {
		o.timeout = 10 * time.Second
	}
	settings := mcpv1alpha1.ConnectionSettings{
		HTTPTimeout:       &metav1.Duration{Duration: o.timeout},
		AllowedTokenHosts: []string{"127.0.0.1"},
		// The test servers listen on loopback; the harness runs the
		// provider with namespaced private networks allowed.
		AllowPrivateNetworks: true,
	}
	var pc client.Object = &mcpv1alpha1.ProviderConfig{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: providerConfig},
		Spec: mcpv1alpha1.ProviderConfigSpec{
			CABundle:           &mcpv1alpha1.LocalCABundleSource{SecretRef: &mcpv1alpha1.LocalKeyReference{Name: caSecretName, Key: "ca.crt"}},
			ConnectionSettings: settings,
		},
	}
	ref := &xpv2.ProviderConfigReference{Kind: mcpv1alpha1.ProviderConfigKind, Name: providerConfig}
	if o.cluster {
		pc = &mcpv1alpha1.ClusterProviderConfig{
			ObjectMeta: metav1.ObjectMeta{Name: ns},
			Spec: mcpv1alpha1.ClusterProviderConfigSpec{
				CABundle: &mcpv1alpha1.CABundleSource{SecretRef: &mcpv1alpha1.KeyReference{
					LocalKeyReference: mcpv1alpha1.LocalKeyReference{Name: caSecretName, Key: "ca.crt"}, Namespace: ns,
				}},
				ConnectionSettings: settings,
			},
		}
		ref = &xpv2.ProviderConfigReference{Kind: mcpv1alpha1.ClusterProviderConfigKind, Name: ns}
	}
	ca := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: caSecretName}, Data: map[string][]byte{"ca.crt": o.caPEM}}
	mg := exampleEAC(t, ns)
	mg.Spec.ProviderConfigReference = ref
	te := mg.Spec.ForProvider.TokenExchange
	if o.tokenURL != "" {
		te.TokenURL, te.IssuerURL = o.tokenURL, o.issuerURL
	}
	create(t, pc, ca, clientSecret(ns, idp.ClientSecret), mg)

	r := running{ns: ns, name: mg.Name}
	wait.For(t, 60*time.Second, "config Ready and published", func() string {
		got := getEAC(t, ns, mg.Name)
		c := got.GetCondition(xpv2.TypeReady)
		if c.Status != corev1.ConditionTrue {
			return fmt.Sprintf("Ready is %s/%s (%s)", c.Status, c.Reason, c.Message)
		}
		if d := secretData(t, ns, connSecretName); d["config_hash"] == "" || d["config_hash"] != got.Status.AtProvider.ConfigHash {
			return "connection secret not published for hash " + got.Status.AtProvider.ConfigHash
		}
		r.mg = got
		return ""
	})
	r.secret = getPublished(t, ns)
	return r
}

// poke makes the provider reconcile the config now rather than at the next
// poll, as any change of the config would. It changes neither the config's
// generation nor its hash. Only what nothing watches needs it: an
// authorization server that starts to misbehave, or a check that a refused
// change leaves the config Ready.
func (r running) poke(t *testing.T) {
	t.Helper()
	p := fmt.Sprintf(`{"metadata":{"annotations":{"test.crossmcp.io/poke":"%d"}}}`, time.Now().UnixNano())
	if err := kube.Patch(context.Background(), &v1alpha1.ExternalAuthConfig{ObjectMeta: metav1.ObjectMeta{Namespace: r.ns, Name: r.name}}, client.RawPatch(types.MergePatchType, []byte(p))); err != nil {
		t.Fatalf("cannot poke the config: %v", err)
	}
}

// conditions are the config's Ready and Synced conditions as
// "Status/Reason: Message".
type conditions struct {
	Ready, Synced string
}

func (r running) conditions(t *testing.T) conditions {
	t.Helper()
	mg := getEAC(t, r.ns, r.name)
	s := func(c xpv2.Condition) string { return fmt.Sprintf("%s/%s: %s", c.Status, c.Reason, c.Message) }
	return conditions{Ready: s(mg.GetCondition(xpv2.TypeReady)), Synced: s(mg.GetCondition(xpv2.TypeSynced))}
}

// until polls cond, poking the config every second, for a minute.
func (r running) until(t *testing.T, what string, cond func() string) {
	t.Helper()
	var last time.Time
	wait.For(t, time.Minute, what, func() string {
		if time.Since(last) > time.Second {
			r.poke(t)
			last = time.Now()
		}
		return cond()
	})
}

// assertNothingElseChanged checks that the published connection secret is
// exactly as it was and that status still reports the published hash.
func (r running) assertNothingElseChanged(t *testing.T, why string) {
	t.Helper()
	if diff := cmp.Diff(r.secret, getPublished(t, r.ns)); diff != "" {
		t.Errorf("%s\nthe connection secret changed: -before, +after:\n%s", why, diff)
	}
	if got, want := getEAC(t, r.ns, r.name).Status.AtProvider.ConfigHash, r.mg.Status.AtProvider.ConfigHash; got != want {
		t.Errorf("%s\nstatus.atProvider.configHash = %s, want the published %s", why, got, want)
	}
}

func patch(t *testing.T, o client.Object, p string, strict bool) error {
	t.Helper()
	opts := []client.PatchOption{}
	if strict {
		opts = append(opts, client.FieldValidation(metav1.FieldValidationStrict))
	}
	return kube.Patch(context.Background(), o, client.RawPatch(types.MergePatchType, []byte(p)), opts...)
}

// updateSecret replaces a Secret's data in one write.
func updateSecret(t *testing.T, ns, name string, data map[string][]byte) {
	t.Helper()
	s := &corev1.Secret{}
	if err := kube.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, s); err != nil {
		t.Fatal(err)
	}
	s.Data = data
	if err := kube.Update(context.Background(), s); err != nil {
		t.Fatal(err)
	}
}

// TestBadInputExternalAuthConfig breaks a running ExternalAuthConfig in every
// way issue 7 lists. Rejections by the CRD schema are asserted as the real
// apiserver's error (the stored config keeps its resourceVersion and stays
// Ready); everything else as the running controller's Ready and Synced
// conditions, which must follow within seconds by the controller's watches
// alone, whether the config, a Secret or its provider config changed. In
// every case the last good connection secret keeps its data and
// resourceVersion.
func TestBadInputExternalAuthConfig(t *testing.T) {
	type args struct {
		patch   string                        // JSON merge patch of the config; $NS is its namespace
		strict  bool                          // ask for strict field validation
		change  func(t *testing.T, r running) // breaks something the config uses
		cluster bool                          // the config uses a ClusterProviderConfig named $NS
	}
	type want struct {
		apiErr string // the apiserver refuses the change with this in its error
		noop   bool   // the apiserver takes the change but stores nothing new
		conditions
	}
	const (
		idpHost = "$IDP"
		te      = `{"spec":{"forProvider":{"tokenExchange":%s}}}`
	)
	observeFailed := func(reason xpv2.ConditionReason, msg string) want {
		return want{conditions: conditions{Ready: fmt.Sprintf("False/%s: %s", reason, msg), Synced: "False/ReconcileError: observe failed: " + msg}}
	}
	connectFailed := func(reason xpv2.ConditionReason, msg string) want {
		return want{conditions: conditions{Ready: fmt.Sprintf("False/%s: %s", reason, msg), Synced: "False/ReconcileError: connect failed: cannot use provider config: " + msg}}
	}
	otherCA, err := pki.NewCA("not the authorization server's CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	cases := map[string]struct {
		reason string
		args   args
		want   want
	}{
		// The CRD schema.
		"NonHTTPSTokenURL": {
			reason: "A plain-http token URL would send the client secret in clear text.",
			args:   args{patch: fmt.Sprintf(te, `{"tokenUrl":"http://127.0.0.1/token"}`)},
			want:   want{apiErr: "spec.forProvider.tokenExchange: Invalid value: tokenUrl must be an https URL (http only with insecureAllowHTTP: true)"},
		},
		"NonHTTPSIssuerURL": {
			reason: "The issuer is held to the same rule.",
			args:   args{patch: fmt.Sprintf(te, `{"issuerUrl":"http://127.0.0.1"}`)},
			want:   want{apiErr: "spec.forProvider.tokenExchange: Invalid value: issuerUrl must be an https URL (http only with insecureAllowHTTP: true)"},
		},
		"UnparseableTokenURL": {
			reason: "A token URL that is not a URL is refused.",
			args:   args{patch: fmt.Sprintf(te, `{"tokenUrl":"https://exa mple.com/%zz"}`)},
			want:   want{apiErr: `spec.forProvider.tokenExchange.tokenUrl: Invalid value: "https://exa mple.com/%zz": tokenUrl must be an absolute URL`},
		},
		"EmptyAudience": {
			reason: "audience is required and not empty.",
			args:   args{patch: fmt.Sprintf(te, `{"audience":""}`)},
			want:   want{apiErr: "spec.forProvider.tokenExchange.audience in body should be at least 1 chars long"},
		},
		"BlankAudience": {
			reason: "An audience of spaces passes the length check; the CEL rule refuses it.",
			args:   args{patch: fmt.Sprintf(te, `{"audience":"   "}`)},
			want:   want{apiErr: `spec.forProvider.tokenExchange.audience: Invalid value: "   ": audience must not be blank`},
		},
		"UnicodeBlankAudience": {
			reason: "Blank is Unicode whitespace, as the provider trims it, not only ASCII spaces.",
			args:   args{patch: fmt.Sprintf(te, `{"audience":"\t\u00a0\u3000"}`)},
			want:   want{apiErr: fmt.Sprintf("spec.forProvider.tokenExchange.audience: Invalid value: %q: audience must not be blank", "\t\u00a0\u3000")},
		},
		"UnknownType": {
			reason: "type is an enum.",
			args:   args{patch: `{"spec":{"forProvider":{"type":"awsSts"}}}`},
			want:   want{apiErr: `spec.forProvider.type: Unsupported value: "awsSts": supported values: "tokenExchange", "headerInjection", "bearerToken", "unauthenticated"`},
		},
		"BlockOfWrongType": {
			reason: "A tokenExchange block under another type is refused.",
			args:   args{patch: `{"spec":{"forProvider":{"type":"bearerToken","bearerToken":{"tokenSecretRef":{"name":"idp-client","key":"client-secret"}}}}}`},
			want:   want{apiErr: "spec.forProvider: Invalid value: tokenExchange must be set if and only if type is tokenExchange"},
		},
		"InvalidSubjectTokenType": {
			reason: "subjectTokenType is one of ToolHive's.",
			args:   args{patch: fmt.Sprintf(te, `{"subjectTokenType":"saml2"}`)},
			want:   want{apiErr: `spec.forProvider.tokenExchange.subjectTokenType: Invalid value: "saml2": spec.forProvider.tokenExchange.subjectTokenType in body should match`},
		},
		"SecretInOtherNamespace": {
			reason: "A secret reference has no namespace field: strict validation refuses one.",
			args:   args{patch: fmt.Sprintf(te, `{"clientSecretRef":{"namespace":"crossplane-system"}}`), strict: true},
			want:   want{apiErr: `unknown field "spec.forProvider.tokenExchange.clientSecretRef.namespace"`},
		},
		"SecretInOtherNamespaceDropped": {
			reason: "Without strict validation the namespace is pruned: the stored config does not change at all.",
			args:   args{patch: fmt.Sprintf(te, `{"clientSecretRef":{"namespace":"crossplane-system"}}`)},
			want:   want{noop: true},
		},

		// The provider: secrets.
		"SecretMissing": {
			reason: "A deleted client secret is reported.",
			args: args{change: func(t *testing.T, r running) {
				if err := kube.Delete(context.Background(), clientSecret(r.ns, "")); err != nil {
					t.Fatal(err)
				}
			}},
			want: observeFailed("SecretNotFound", `secret "idp-client" not found in namespace "$NS"`),
		},
		"SecretRefToMissingSecret": {
			reason: "A reference to a Secret that does not exist is reported.",
			args:   args{patch: fmt.Sprintf(te, `{"clientSecretRef":{"name":"no-such-secret"}}`)},
			want:   observeFailed("SecretNotFound", `secret "no-such-secret" not found in namespace "$NS"`),
		},
		"SecretKeyMissing": {
			reason: "A Secret without the key is reported.",
			args: args{change: func(t *testing.T, r running) {
				updateSecret(t, r.ns, "idp-client", map[string][]byte{"secret": []byte(idp.ClientSecret)})
			}},
			want: observeFailed("SecretKeyNotFound", `secret "idp-client" has no key "client-secret"`),
		},
		"SecretValueEmpty": {
			reason: "An empty value is reported, not published.",
			args: args{change: func(t *testing.T, r running) {
				updateSecret(t, r.ns, "idp-client", map[string][]byte{"client-secret": {}})
			}},
			want: observeFailed("SecretValueEmpty", `key "client-secret" of secret "idp-client" is empty`),
		},

		// The provider: what the schema cannot see.
		"TokenHostNotAllowed": {
			reason: "A token URL outside the provider config's allow-list is refused before any request.",
			args:   args{patch: fmt.Sprintf(te, `{"tokenUrl":"https://auth.example.com/oauth2/token"}`)},
			want:   observeFailed("HostNotAllowed", `host "auth.example.com" is not in the provider config's allowedTokenHosts [127.0.0.1]`),
		},
		"AllowListNarrowed": {
			reason: "A ProviderConfig that no longer allows the host stops the config at once, not at the next poll.",
			args: args{change: func(t *testing.T, r running) {
				pc := &mcpv1alpha1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Namespace: r.ns, Name: providerConfig}}
				if err := patch(t, pc, `{"spec":{"allowedTokenHosts":["auth.example.com"]}}`, true); err != nil {
					t.Fatal(err)
				}
			}},
			want: observeFailed("HostNotAllowed", `host "`+idpHost+`" is not in the provider config's allowedTokenHosts [auth.example.com]`),
		},

		"ClusterPrivateNetworksWithdrawn": {
			reason: "A ClusterProviderConfig that stops allowing private networks stops the config at once: the provider no longer connects to the loopback server.",
			args: args{cluster: true, change: func(t *testing.T, r running) {
				pc := &mcpv1alpha1.ClusterProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: r.ns}}
				if err := patch(t, pc, `{"spec":{"allowPrivateNetworks":false}}`, true); err != nil {
					t.Fatal(err)
				}
			}},
			want: want{conditions: conditions{
				Ready:  "False/PrivateNetworkNotAllowed: metadata discovery for issuer $ISSUER was not attempted: 127.0.0.1 is a loopback, link-local or private address: the provider connects to such addresses only for a ClusterProviderConfig with allowPrivateNetworks: true$KEPT",
				Synced: "True/ReconcileSuccess: ",
			}},
		},
		"ClusterAllowListNarrowed": {
			reason: "A ClusterProviderConfig that no longer allows the host stops the config at once, not at the next poll.",
			args: args{cluster: true, change: func(t *testing.T, r running) {
				pc := &mcpv1alpha1.ClusterProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: r.ns}}
				if err := patch(t, pc, `{"spec":{"allowedTokenHosts":["auth.example.com"]}}`, true); err != nil {
					t.Fatal(err)
				}
			}},
			want: observeFailed("HostNotAllowed", `host "`+idpHost+`" is not in the provider config's allowedTokenHosts [auth.example.com]`),
		},

		// The provider: its provider config's CA bundle, each change
		// reported at once, not at the next poll.
		"CABundleSecretMissing": {
			reason: "A CA bundle Secret that is gone is reported.",
			args: args{change: func(t *testing.T, r running) {
				if err := kube.Delete(context.Background(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: r.ns, Name: caSecretName}}); err != nil {
					t.Fatal(err)
				}
			}},
			want: connectFailed(externalauthconfig.ReasonCABundleUnavailable, `CA bundle Secret $NS/idp-ca key "ca.crt": object not found`),
		},
		"CABundleKeyMissing": {
			reason: "A CA bundle Secret without the key is reported.",
			args: args{change: func(t *testing.T, r running) {
				updateSecret(t, r.ns, caSecretName, map[string][]byte{"tls.crt": idp.CAPEM})
			}},
			want: connectFailed(externalauthconfig.ReasonCABundleUnavailable, `CA bundle Secret $NS/idp-ca key "ca.crt" is missing or empty`),
		},
		"CABundleNotPEM": {
			reason: "A CA bundle that holds no certificate is reported.",
			args: args{change: func(t *testing.T, r running) {
				updateSecret(t, r.ns, caSecretName, map[string][]byte{"ca.crt": []byte("not a certificate")})
			}},
			want: connectFailed(externalauthconfig.ReasonCABundleUnavailable, `CA bundle Secret $NS/idp-ca key "ca.crt" holds no PEM certificate`),
		},
		"CABundleWrongCA": {
			reason: "A CA bundle of another CA fails TLS verification: reported, verified again at once (not after the verify interval), nothing published.",
			args: args{change: func(t *testing.T, r running) {
				updateSecret(t, r.ns, caSecretName, map[string][]byte{"ca.crt": otherCA.PEM})
			}},
			want: want{conditions: conditions{
				Ready:  "False/DiscoveryFailed: metadata discovery for issuer $ISSUER failed: cannot discover authorization server metadata: $ISSUER/.well-known/oauth-authorization-server: TLS certificate verification failed (x509: certificate signed by unknown authority); if the server uses a private CA, configure its CA bundle; $ISSUER/.well-known/openid-configuration: TLS certificate verification failed (x509: certificate signed by unknown authority); if the server uses a private CA, configure its CA bundle$KEPT",
				Synced: "True/ReconcileSuccess: ",
			}},
		},
		"ClusterCABundleSecretMissing": {
			reason: "A ClusterProviderConfig's CA bundle Secret that is gone is reported.",
			args: args{cluster: true, change: func(t *testing.T, r running) {
				if err := kube.Delete(context.Background(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: r.ns, Name: caSecretName}}); err != nil {
					t.Fatal(err)
				}
			}},
			want: connectFailed(externalauthconfig.ReasonCABundleUnavailable, `CA bundle Secret $NS/idp-ca key "ca.crt": object not found`),
		},
		"ClusterCABundleWrongCA": {
			reason: "A ClusterProviderConfig's CA bundle replaced by another CA's fails TLS verification at once.",
			args: args{cluster: true, change: func(t *testing.T, r running) {
				updateSecret(t, r.ns, caSecretName, map[string][]byte{"ca.crt": otherCA.PEM})
			}},
			want: want{conditions: conditions{
				Ready:  "False/DiscoveryFailed: metadata discovery for issuer $ISSUER failed: cannot discover authorization server metadata: $ISSUER/.well-known/oauth-authorization-server: TLS certificate verification failed (x509: certificate signed by unknown authority); if the server uses a private CA, configure its CA bundle; $ISSUER/.well-known/openid-configuration: TLS certificate verification failed (x509: certificate signed by unknown authority); if the server uses a private CA, configure its CA bundle$KEPT",
				Synced: "True/ReconcileSuccess: ",
			}},
		},

		// The provider: its provider config reference.
		"ProviderConfigMissing": {
			reason: "A reference to a ProviderConfig that does not exist is reported.",
			args:   args{patch: `{"spec":{"providerConfigRef":{"name":"no-such-config"}}}`},
			want:   connectFailed(externalauthconfig.ReasonProviderConfigNotFound, `ProviderConfig "no-such-config" in namespace "$NS" not found`),
		},
		"ClusterProviderConfigMissing": {
			reason: "A reference to a ClusterProviderConfig that does not exist is reported.",
			args:   args{patch: `{"spec":{"providerConfigRef":{"kind":"ClusterProviderConfig","name":"no-such-config"}}}`},
			want:   connectFailed(externalauthconfig.ReasonProviderConfigNotFound, `ClusterProviderConfig "no-such-config" not found`),
		},
		"ProviderConfigKindUnknown": {
			reason: "A provider config reference of another kind is reported.",
			args:   args{patch: `{"spec":{"providerConfigRef":{"kind":"StoreConfig"}}}`},
			want:   connectFailed(externalauthconfig.ReasonProviderConfigInvalid, `providerConfigRef kind "StoreConfig" is neither ProviderConfig nor ClusterProviderConfig`),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := startRunning(t, runOptions{cluster: tc.args.cluster})
			repl := strings.NewReplacer("$NS", r.ns, "$IDP", strings.TrimPrefix(idp.Issuer, "https://"), "$ISSUER", idp.Issuer, "$KEPT", kept(r.mg.Status.AtProvider.ConfigHash))
			before := getEAC(t, r.ns, r.name)

			if tc.args.change != nil {
				tc.args.change(t, r)
			}
			if tc.args.patch != "" {
				err := patch(t, &v1alpha1.ExternalAuthConfig{ObjectMeta: metav1.ObjectMeta{Namespace: r.ns, Name: r.name}}, tc.args.patch, tc.args.strict)
				switch {
				case tc.want.apiErr == "" && err != nil:
					t.Fatalf("%s\nPatch(...): %v", tc.reason, err)
				case tc.want.apiErr != "" && (err == nil || !strings.Contains(err.Error(), tc.want.apiErr)):
					t.Fatalf("%s\nPatch(...): want an error containing %q, got %v", tc.reason, tc.want.apiErr, err)
				}
			}

			if tc.want.apiErr != "" || tc.want.noop {
				// Nothing was stored: the config is as it was, and stays Ready.
				// (Its resourceVersion may move with the provider's status
				// writes; its generation moves only with its spec.)
				got := getEAC(t, r.ns, r.name)
				if got.GetGeneration() != before.GetGeneration() {
					t.Errorf("%s\nthe config's generation changed from %d to %d", tc.reason, before.GetGeneration(), got.GetGeneration())
				}
				if diff := cmp.Diff(before.Spec, got.Spec); diff != "" {
					t.Errorf("%s\nthe config's spec changed: -before, +after:\n%s", tc.reason, diff)
				}
				u := &unstructured.Unstructured{}
				u.SetGroupVersionKind(v1alpha1.ExternalAuthConfigGroupVersionKind)
				if err := kube.Get(context.Background(), client.ObjectKeyFromObject(got), u); err != nil {
					t.Fatal(err)
				}
				ref, _, _ := unstructured.NestedMap(u.Object, "spec", "forProvider", "tokenExchange", "clientSecretRef")
				if diff := cmp.Diff(map[string]any{"name": "idp-client", "key": "client-secret"}, ref); diff != "" {
					t.Errorf("%s\nthe stored clientSecretRef: -want, +got:\n%s", tc.reason, diff)
				}
				r.poke(t)
				time.Sleep(2 * time.Second)
				if c := r.conditions(t); !strings.HasPrefix(c.Ready, "True/") || !strings.HasPrefix(c.Synced, "True/") {
					t.Errorf("%s\nthe config is no longer Ready and Synced: %+v", tc.reason, c)
				}
			} else {
				// Not poked: the watches on the config, its Secrets and its
				// provider config must bring the change, well before the
				// next poll.
				want := conditions{Ready: repl.Replace(tc.want.Ready), Synced: repl.Replace(tc.want.Synced)}
				wait.For(t, watched, "conditions", func() string { return cmp.Diff(want, r.conditions(t)) })
			}
			r.assertNothingElseChanged(t, tc.reason)
		})
	}
}

// TestBadInputMCPServer breaks an existing MCPServer in every way issue 7
// lists against the XRD's schema served by the real apiserver. Every change
// is refused and the stored XR keeps its resourceVersion. (A reference to a
// missing or not Ready config is the function's to report: see
// internal/function's TestBadInputFunction.)
func TestBadInputMCPServer(t *testing.T) {
	installXRDSchema(t)
	ctx := context.Background()
	ns := namespace(t)

	const inlineOK = `{"type":"tokenExchange","tokenExchange":{"tokenUrl":"https://auth.example.com/token","audience":"api"}}`
	inline := func(block string) string {
		return `{"spec":{"externalAuth":{"configRef":null,"inline":` + block + `}}}`
	}
	type args struct {
		patch  string // JSON merge patch of the running XR
		strict bool
	}
	cases := map[string]struct {
		reason string
		args   args
		want   string // in the apiserver's error
	}{
		"NoImage": {
			reason: "image is required.",
			args:   args{patch: `{"spec":{"image":null}}`},
			want:   "spec.image: Required value",
		},
		"UnknownTransport": {
			reason: "transport is an enum.",
			args:   args{patch: `{"spec":{"transport":"grpc"}}`},
			want:   `spec.transport: Unsupported value: "grpc": supported values: "stdio", "sse", "streamable-http"`,
		},
		"ProxyPortTooHigh": {
			reason: "Ports end at 65535.",
			args:   args{patch: `{"spec":{"proxyPort":70000}}`},
			want:   "spec.proxyPort: Invalid value: 70000: spec.proxyPort in body should be less than or equal to 65535",
		},
		"MCPPortZero": {
			reason: "Ports start at 1.",
			args:   args{patch: `{"spec":{"mcpPort":0}}`},
			want:   "spec.mcpPort: Invalid value: 0: spec.mcpPort in body should be greater than or equal to 1",
		},
		"BothRefAndInline": {
			reason: "configRef and inline together are refused.",
			args:   args{patch: `{"spec":{"externalAuth":{"inline":` + inlineOK + `}}}`},
			want:   `spec.externalAuth: Invalid value: set exactly one of configRef and inline`,
		},
		"NeitherRefNorInline": {
			reason: "An empty externalAuth is refused.",
			args:   args{patch: `{"spec":{"externalAuth":{"configRef":null}}}`},
			want:   `spec.externalAuth: Invalid value: set exactly one of configRef and inline`,
		},
		"ConfigRefNamespace": {
			reason: "A reference to another namespace is refused.",
			args:   args{patch: `{"spec":{"externalAuth":{"configRef":{"namespace":"other"}}}}`},
			want:   "cross-namespace references are not allowed",
		},
		"InlineNonHTTPS": {
			reason: "The inline block keeps the config's https rule.",
			args:   args{patch: inline(`{"type":"tokenExchange","tokenExchange":{"tokenUrl":"http://auth.example.com/token","audience":"api"}}`)},
			want:   "tokenUrl must be an https URL (http only with insecureAllowHTTP: true)",
		},
		"InlineUnparseableURL": {
			reason: "The inline token URL must be a URL.",
			args:   args{patch: inline(`{"type":"tokenExchange","tokenExchange":{"tokenUrl":"https://exa mple.com/%zz","audience":"api"}}`)},
			want:   "tokenUrl must be an absolute URL",
		},
		"InlineEmptyAudience": {
			reason: "The inline audience is required.",
			args:   args{patch: inline(`{"type":"tokenExchange","tokenExchange":{"tokenUrl":"https://auth.example.com/token","audience":""}}`)},
			want:   "spec.externalAuth.inline.tokenExchange.audience in body should be at least 1 chars long",
		},
		"InlineBlankAudience": {
			reason: "The inline audience must not be blank either.",
			args:   args{patch: inline(`{"type":"tokenExchange","tokenExchange":{"tokenUrl":"https://auth.example.com/token","audience":"   "}}`)},
			want:   `spec.externalAuth.inline.tokenExchange.audience: Invalid value: "   ": audience must not be blank`,
		},
		"InlineUnicodeBlankAudience": {
			reason: "Nor blank with Unicode whitespace.",
			args:   args{patch: inline(`{"type":"tokenExchange","tokenExchange":{"tokenUrl":"https://auth.example.com/token","audience":"\u00a0\u3000"}}`)},
			want:   fmt.Sprintf("spec.externalAuth.inline.tokenExchange.audience: Invalid value: %q: audience must not be blank", "\u00a0\u3000"),
		},
		"InlineUnknownType": {
			reason: "The inline type is an enum.",
			args:   args{patch: inline(`{"type":"awsSts"}`)},
			want:   `spec.externalAuth.inline.type: Unsupported value: "awsSts"`,
		},
		"InlineBlockOfWrongType": {
			reason: "The inline type's block rule holds.",
			args:   args{patch: inline(`{"type":"unauthenticated","tokenExchange":{"tokenUrl":"https://auth.example.com/token","audience":"api"}}`)},
			want:   "tokenExchange must be set if and only if type is tokenExchange",
		},
		"InlineSubjectTokenType": {
			reason: "The inline subject token type is one of ToolHive's.",
			args:   args{patch: inline(`{"type":"tokenExchange","tokenExchange":{"tokenUrl":"https://auth.example.com/token","audience":"api","subjectTokenType":"saml2"}}`)},
			want:   "spec.externalAuth.inline.tokenExchange.subjectTokenType in body should match",
		},
		"InlineSecretNamespace": {
			reason: "The inline secret reference has no namespace either.",
			args: args{
				patch:  inline(`{"type":"tokenExchange","tokenExchange":{"tokenUrl":"https://auth.example.com/token","audience":"api","clientId":"c","clientSecretRef":{"name":"s","key":"k","namespace":"other"}}}`),
				strict: true,
			},
			want: `unknown field "spec.externalAuth.inline.tokenExchange.clientSecretRef.namespace"`,
		},
		"UnknownField": {
			reason: "A misspelt field is refused under strict validation.",
			args:   args{patch: `{"spec":{"imagee":"ghcr.io/example/server:v2"}}`, strict: true},
			want:   `unknown field "spec.imagee"`,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			xr := &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": "platform.crossmcp.io/v1alpha1", "kind": "MCPServer",
				"metadata": map[string]any{"name": strings.ToLower(name), "namespace": ns},
				"spec": map[string]any{
					"image":        "ghcr.io/example/server:v1",
					"oidc":         map[string]any{"issuer": "https://idp.example.com"},
					"externalAuth": map[string]any{"configRef": map[string]any{"name": "backend-api"}},
				},
			}}
			if err := kube.Create(ctx, xr); err != nil {
				t.Fatalf("the good XR is refused: %v", err)
			}
			before := xr.DeepCopy()

			err := patch(t, xr, tc.args.patch, tc.args.strict)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s\nPatch(...): want an error containing %q, got %v", tc.reason, tc.want, err)
			}
			got := &unstructured.Unstructured{}
			got.SetGroupVersionKind(xr.GroupVersionKind())
			if err := kube.Get(ctx, client.ObjectKeyFromObject(before), got); err != nil {
				t.Fatal(err)
			}
			if got.GetResourceVersion() != before.GetResourceVersion() {
				t.Errorf("%s\nthe XR's resourceVersion changed from %s to %s", tc.reason, before.GetResourceVersion(), got.GetResourceVersion())
			}
			if diff := cmp.Diff(before.Object["spec"], got.Object["spec"]); diff != "" {
				t.Errorf("%s\nthe XR's spec changed: -before, +after:\n%s", tc.reason, diff)
			}
		})
	}
}

// A misbehavingServer is an OAuth authorization server on 127.0.0.1 with TLS
// that does what its mode says: answer well (RFC 8414 metadata and RFC 8693
// token endpoint errors, as a real server answers the provider's probe) or
// fail in one particular way.
type misbehavingServer struct {
	URL          string
	addr         string
	mode         atomic.Value // string
	certs        map[string]*tls.Certificate
	secretEchoed string // the client secret, echoed by modeEchoSecret

	mu  sync.Mutex
	srv *http.Server
}

// Modes of a misbehavingServer.
const (
	modeGood               = "Good"
	modeDown               = "Down"
	modeUnknownCA          = "UnknownCA"
	modeWrongHost          = "WrongHost"
	modeExpired            = "Expired"
	modeDiscovery500       = "Discovery500"
	modeDiscoverySlow      = "DiscoverySlow"
	modeDiscoveryHTML      = "DiscoveryHTML"
	modeEndpointMismatch   = "EndpointMismatch"
	modeGrantNotAdvertised = "GrantNotAdvertised"
	modeToken500           = "Token500"
	modeToken503HTML       = "Token503HTML"
	modeTokenSlow          = "TokenSlow"
	modeTokenHTML400       = "TokenHTML400"
	modeTokenLoginPage     = "TokenLoginPage"
	modeInvalidClient      = "InvalidClient"
	modeUnauthorized401    = "Unauthorized401"
	modeEchoSecret         = "EchoSecret"
	modeUnauthorizedClient = "UnauthorizedClient"
	modeUnsupportedGrant   = "UnsupportedGrant"
	modeInvalidTarget      = "InvalidTarget"
	modeRedirect           = "Redirect"
)

// startMisbehaving serves a misbehavingServer with a certificate of ca until
// the test ends.
func startMisbehaving(t *testing.T, ca, otherCA *pki.CA) *misbehavingServer {
	t.Helper()
	issue := func(ca *pki.CA, l pki.Leaf) *tls.Certificate {
		p, err := ca.Issue(l)
		if err != nil {
			t.Fatal(err)
		}
		c, err := p.TLS()
		if err != nil {
			t.Fatal(err)
		}
		return &c
	}
	good := issue(ca, pki.Leaf{CommonName: "127.0.0.1", IPs: pki.Loopback, Server: true, ValidFor: time.Hour})
	s := &misbehavingServer{
		certs: map[string]*tls.Certificate{
			modeGood:      good,
			modeUnknownCA: issue(otherCA, pki.Leaf{CommonName: "127.0.0.1", IPs: pki.Loopback, Server: true, ValidFor: time.Hour}),
			modeWrongHost: issue(ca, pki.Leaf{CommonName: "auth.example.com", DNSNames: []string{"auth.example.com"}, Server: true, ValidFor: time.Hour}),
			modeExpired:   issue(ca, pki.Leaf{CommonName: "127.0.0.1", IPs: pki.Loopback, Server: true, ValidFor: -30 * time.Minute}),
		},
		secretEchoed: idp.ClientSecret,
	}
	s.mode.Store(modeGood)
	s.serve(t, "127.0.0.1:0")
	t.Cleanup(s.stop)
	return s
}

func (s *misbehavingServer) serve(t *testing.T, addr string) {
	t.Helper()
	var ln net.Listener
	var err error
	// The port of a server just stopped may take a moment to be free.
	for range 50 {
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("cannot listen on %s: %v", addr, err)
	}
	s.addr = ln.Addr().String()
	s.URL = "https://" + s.addr
	srv := &http.Server{
		Handler: http.HandlerFunc(s.handle),
		TLSConfig: &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			if c, ok := s.certs[s.mode.Load().(string)]; ok {
				return c, nil
			}
			return s.certs[modeGood], nil
		}},
		// HTTP/1.1 without keep-alives: every request is a new TLS handshake,
		// so a change of mode applies to the very next request.
		TLSNextProto:      map[string]func(*http.Server, *tls.Conn, http.Handler){},
		ReadHeaderTimeout: 10 * time.Second,
	}
	srv.SetKeepAlivesEnabled(false)
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
	go func() { _ = srv.ServeTLS(ln, "", "") }()
}

func (s *misbehavingServer) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		_ = s.srv.Close()
		s.srv = nil
	}
}

// set switches the server to mode; Down stops it, and any other mode after
// Down serves again on the same address.
func (s *misbehavingServer) set(t *testing.T, mode string) {
	t.Helper()
	s.mode.Store(mode)
	s.mu.Lock()
	down := s.srv == nil
	s.mu.Unlock()
	switch {
	case mode == modeDown:
		s.stop()
	case down:
		s.serve(t, s.addr)
	}
}

func (s *misbehavingServer) handle(w http.ResponseWriter, r *http.Request) {
	mode := s.mode.Load().(string)
	answer := func(status int, contentType, body string) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
	oauthError := func(status int, code, desc string) {
		b, _ := json.Marshal(map[string]string{"error": code, "error_description": desc})
		answer(status, "application/json", string(b))
	}
	stall := func() {
		select {
		case <-r.Context().Done():
		case <-time.After(30 * time.Second):
		}
	}
	switch {
	case strings.HasPrefix(r.URL.Path, "/.well-known/"):
		md := map[string]any{
			"issuer":                                s.URL,
			"token_endpoint":                        s.URL + "/token",
			"grant_types_supported":                 []string{"client_credentials", oauth.GrantTypeTokenExchange},
			"token_endpoint_auth_methods_supported": []string{"client_secret_basic"},
		}
		switch mode {
		case modeDiscovery500:
			answer(http.StatusInternalServerError, "text/plain", "internal error")
			return
		case modeDiscoverySlow:
			stall()
			return
		case modeDiscoveryHTML:
			answer(http.StatusOK, "text/html", "<html><body>Welcome</body></html>")
			return
		case modeEndpointMismatch:
			md["token_endpoint"] = s.URL + "/oauth2/v2/token"
		case modeGrantNotAdvertised:
			md["grant_types_supported"] = []string{"authorization_code", "client_credentials"}
		}
		b, _ := json.Marshal(md)
		answer(http.StatusOK, "application/json", string(b))
	case r.URL.Path == "/token" && r.Method == http.MethodPost:
		id, secret, _ := r.BasicAuth()
		switch mode {
		case modeToken500:
			oauthError(http.StatusInternalServerError, "server_error", "database unavailable")
		case modeToken503HTML:
			answer(http.StatusServiceUnavailable, "text/html", "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>")
		case modeTokenSlow:
			stall()
		case modeTokenHTML400:
			answer(http.StatusBadRequest, "text/html", "<html><body>Bad Request</body></html>")
		case modeTokenLoginPage:
			answer(http.StatusOK, "text/html", "<html><body><form>Sign in</form></body></html>")
		case modeInvalidClient:
			oauthError(http.StatusBadRequest, "invalid_client", "client authentication failed")
		case modeUnauthorized401:
			w.Header().Set("WWW-Authenticate", `Basic realm="token"`)
			oauthError(http.StatusUnauthorized, "invalid_client", "unknown client")
		case modeEchoSecret:
			oauthError(http.StatusBadRequest, "invalid_client", fmt.Sprintf("client %s sent secret %s, which is not %s-old", id, secret, s.secretEchoed))
		case modeUnauthorizedClient:
			oauthError(http.StatusBadRequest, "unauthorized_client", "the client may not use this grant")
		case modeUnsupportedGrant:
			oauthError(http.StatusBadRequest, "unsupported_grant_type", "")
		case modeInvalidTarget:
			oauthError(http.StatusBadRequest, "invalid_target", "audience "+r.PostFormValue("audience")+" is not allowed for this client")
		case modeRedirect:
			http.Redirect(w, r, s.URL+"/login?next=token", http.StatusFound)
		default:
			if id != idp.ClientID || secret != idp.ClientSecret {
				oauthError(http.StatusUnauthorized, "invalid_client", "")
				return
			}
			oauthError(http.StatusBadRequest, "invalid_grant", "subject token is invalid")
		}
	default:
		http.NotFound(w, r)
	}
}

// TestBadInputAuthorizationServer runs a config against a real TLS
// authorization server that answers well, lets it become Ready and publish
// its connection secret, then makes the server misbehave in one way per case
// and checks the exact Ready reason and message the provider's verification
// reports (Synced stays True: the config itself is fine), that the
// connection secret keeps its data and resourceVersion, and that the config
// is Ready again once the server recovers. The provider re-verifies an
// unchanged config after its verify interval (a few seconds here, see
// main_test.go).
func TestBadInputAuthorizationServer(t *testing.T) {
	ca, err := pki.NewCA("misbehaving authorization server CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	otherCA, err := pki.NewCA("somebody else's CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	type args struct {
		mode     string
		noIssuer bool          // the config has no issuerUrl: only the probe runs
		timeout  time.Duration // the provider config's httpTimeout
	}
	const (
		discovery = "metadata discovery for issuer $URL failed: cannot discover authorization server metadata: "
		probe     = "token endpoint $URL/token: "
		tlsHint   = "; if the server uses a private CA, configure its CA bundle"
	)
	cases := map[string]struct {
		reason string
		args   args
		want   string // Ready: False/<reason>: <message>, $URL the server's
	}{
		"UnknownCA": {
			reason: "A certificate of a CA the provider config does not trust is a TLS error.",
			args:   args{mode: modeUnknownCA, noIssuer: true},
			want:   "False/AuthorizationServerUnreachable: " + probe + "The token endpoint could not be reached: TLS certificate verification failed (x509: certificate signed by unknown authority)" + tlsHint + ".",
		},
		"UnknownCADiscovery": {
			reason: "With an issuer, discovery meets the TLS error first.",
			args:   args{mode: modeUnknownCA},
			want: "False/DiscoveryFailed: " + discovery +
				"$URL/.well-known/oauth-authorization-server: TLS certificate verification failed (x509: certificate signed by unknown authority)" + tlsHint +
				"; $URL/.well-known/openid-configuration: TLS certificate verification failed (x509: certificate signed by unknown authority)" + tlsHint,
		},
		"WrongHost": {
			reason: "A certificate for another host is a TLS error.",
			args:   args{mode: modeWrongHost, noIssuer: true},
			want:   "False/AuthorizationServerUnreachable: " + probe + "The token endpoint could not be reached: TLS certificate verification failed (x509: cannot validate certificate for 127.0.0.1 because it doesn't contain any IP SANs)" + tlsHint + ".",
		},
		"Expired": {
			reason: "An expired certificate is a TLS error.",
			args:   args{mode: modeExpired, noIssuer: true},
			want:   "False/AuthorizationServerUnreachable: " + probe + "The token endpoint could not be reached: TLS certificate verification failed (x509: certificate has expired or is not yet valid: ",
		},
		"Down": {
			reason: "A server that is gone is unreachable.",
			args:   args{mode: modeDown, noIssuer: true},
			want:   "False/AuthorizationServerUnreachable: " + probe + "The token endpoint could not be reached: connection refused.",
		},
		"Discovery500": {
			reason: "Metadata endpoints that fail are a discovery failure.",
			args:   args{mode: modeDiscovery500},
			want:   "False/DiscoveryFailed: " + discovery + "$URL/.well-known/oauth-authorization-server: HTTP 500; $URL/.well-known/openid-configuration: HTTP 500",
		},
		"DiscoverySlow": {
			reason: "Metadata endpoints slower than the provider config's timeout are a discovery failure.",
			args:   args{mode: modeDiscoverySlow, timeout: time.Second},
			want: "False/DiscoveryFailed: " + discovery + "$URL/.well-known/oauth-authorization-server: timeout waiting for the authorization server" +
				"; $URL/.well-known/openid-configuration: timeout waiting for the authorization server",
		},
		"DiscoveryNotJSON": {
			reason: "A metadata document that is not JSON is a discovery failure.",
			args:   args{mode: modeDiscoveryHTML},
			want:   "False/DiscoveryFailed: " + discovery + "$URL/.well-known/oauth-authorization-server: cannot decode metadata document: ",
		},
		"EndpointMismatch": {
			reason: "An issuer that advertises another token endpoint is reported.",
			args:   args{mode: modeEndpointMismatch},
			want:   "False/TokenEndpointMismatch: issuer $URL advertises token endpoint $URL/oauth2/v2/token, but tokenUrl is $URL/token",
		},
		"GrantNotAdvertised": {
			reason: "An issuer that lists its grants without token exchange is reported.",
			args:   args{mode: modeGrantNotAdvertised},
			want:   "False/TokenExchangeNotAdvertised: issuer $URL does not list the token-exchange grant in grant_types_supported",
		},
		"Token500": {
			reason: "A token endpoint that fails is an inconclusive server error.",
			args:   args{mode: modeToken500},
			want:   "False/AuthorizationServerError: " + probe + "The authorization server failed to handle the request (HTTP 500, server_error: database unavailable); the result is inconclusive.",
		},
		"Token503NotJSON": {
			reason: "A 503 with an HTML body is a server error.",
			args:   args{mode: modeToken503HTML},
			want:   "False/AuthorizationServerError: " + probe + "The authorization server failed to handle the request (HTTP 503); the result is inconclusive.",
		},
		"TokenSlow": {
			reason: "A token endpoint slower than the provider config's timeout is unreachable.",
			args:   args{mode: modeTokenSlow, timeout: time.Second},
			want:   "False/AuthorizationServerUnreachable: " + probe + "The token endpoint could not be reached: timeout waiting for the authorization server.",
		},
		"TokenErrorNotJSON": {
			reason: "A 400 with an HTML body is not an OAuth answer.",
			args:   args{mode: modeTokenHTML400},
			want:   "False/AuthorizationServerError: " + probe + "The token endpoint answered HTTP 400 without an OAuth token or error response; the result is inconclusive.",
		},
		"TokenLoginPage": {
			reason: "A 200 login page is not an OAuth answer.",
			args:   args{mode: modeTokenLoginPage},
			want:   "False/AuthorizationServerError: " + probe + "The token endpoint answered HTTP 200 without an OAuth token or error response; the result is inconclusive.",
		},
		"InvalidClient": {
			reason: "invalid_client means the credentials are wrong.",
			args:   args{mode: modeInvalidClient},
			want:   "False/CredentialsRejected: " + probe + "The authorization server rejected the client credentials (HTTP 400, invalid_client: client authentication failed).",
		},
		"Unauthorized401": {
			reason: "A 401 means the credentials are wrong.",
			args:   args{mode: modeUnauthorized401},
			want:   "False/CredentialsRejected: " + probe + "The authorization server rejected the client credentials (HTTP 401, invalid_client: unknown client).",
		},
		"InvalidClientEchoesSecret": {
			reason: "A server that echoes the client secret in its error never gets it into a condition.",
			args:   args{mode: modeEchoSecret},
			want:   "False/CredentialsRejected: " + probe + "The authorization server rejected the client credentials (HTTP 400, invalid_client: client mcp-proxy sent secret [redacted], which is not [redacted]-old).",
		},
		"UnauthorizedClient": {
			reason: "unauthorized_client means the client may not exchange tokens.",
			args:   args{mode: modeUnauthorizedClient},
			want:   "False/GrantNotAllowed: " + probe + "The client credentials were accepted, but the client may not use the token exchange grant (HTTP 400, unauthorized_client: the client may not use this grant).",
		},
		"InvalidTarget": {
			reason: "invalid_target means no token will be issued for the audience, however valid the user's token.",
			args:   args{mode: modeInvalidTarget},
			want:   "False/AudienceOrScopeRejected: " + probe + "The client credentials were accepted, but the server will not issue a token for the requested audience or scopes: check audience and scopes against the client's registration (HTTP 400, invalid_target: audience backend-api is not allowed for this client).",
		},
		"UnsupportedGrant": {
			reason: "unsupported_grant_type means the server has no token exchange.",
			args:   args{mode: modeUnsupportedGrant},
			want:   "False/GrantUnsupported: " + probe + "The authorization server does not support the token exchange grant (HTTP 400, unsupported_grant_type).",
		},
		"Redirect": {
			reason: "A redirect is not followed: it would send the credentials elsewhere.",
			args:   args{mode: modeRedirect},
			want:   "False/AuthorizationServerError: " + probe + `The token endpoint answered with a redirect (HTTP 302 to "$URL/login?next=token"), which is not followed: configure the final token endpoint URL.`,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := startMisbehaving(t, ca, otherCA)
			o := runOptions{tokenURL: srv.URL + "/token", issuerURL: srv.URL, caPEM: ca.PEM, timeout: tc.args.timeout}
			if tc.args.noIssuer {
				o.issuerURL = ""
			}
			r := startRunning(t, o)
			if v := r.mg.Status.AtProvider.Verification; v == nil || v.Outcome != v1alpha1.VerificationSucceeded {
				t.Fatalf("the good server did not verify: %+v", v)
			}

			srv.set(t, tc.args.mode)
			want := strings.ReplaceAll(tc.want, "$URL", srv.URL)
			var got conditions
			r.until(t, "verification failure", func() string {
				got = r.conditions(t)
				if !strings.HasPrefix(got.Ready, "False/") {
					return "Ready is " + got.Ready
				}
				return ""
			})
			// Exact when the message is ours; a prefix when it ends in the
			// Go runtime's wording.
			if strings.HasSuffix(want, ": ") || strings.HasSuffix(want, "(") {
				if !strings.HasPrefix(got.Ready, want) {
					t.Errorf("%s\nReady: want a prefix of\n%s\ngot\n%s", tc.reason, want, got.Ready)
				}
			} else if diff := cmp.Diff(want+kept(r.mg.Status.AtProvider.ConfigHash), got.Ready); diff != "" {
				t.Errorf("%s\nReady: -want, +got:\n%s", tc.reason, diff)
			}
			if !strings.HasPrefix(got.Synced, "True/") {
				t.Errorf("%s\nSynced = %s, want True: the config itself is fine", tc.reason, got.Synced)
			}
			if strings.Contains(got.Ready, idp.ClientSecret) {
				t.Errorf("%s\nthe Ready message carries the client secret", tc.reason)
			}
			mg := getEAC(t, r.ns, r.name)
			if v := mg.Status.AtProvider.Verification; v == nil || v.Outcome != v1alpha1.VerificationFailed || v.ConfigHash != r.mg.Status.AtProvider.ConfigHash {
				t.Errorf("%s\nverification = %+v, want Failed for the published hash", tc.reason, v)
			} else if mg.Status.AtProvider.PublishedConfigHash != v.ConfigHash {
				t.Errorf("%s\npublishedConfigHash %s, want the accepted %s kept", tc.reason, mg.Status.AtProvider.PublishedConfigHash, v.ConfigHash)
			} else if strings.Contains(v.Message, idp.ClientSecret) {
				t.Errorf("%s\nstatus.atProvider.verification carries the client secret", tc.reason)
			}
			r.assertNothingElseChanged(t, tc.reason)

			// The server recovers: so does the config, still publishing nothing new.
			srv.set(t, modeGood)
			r.until(t, "Ready again", func() string {
				if c := r.conditions(t); !strings.HasPrefix(c.Ready, "True/Available: ") {
					return "Ready is " + c.Ready
				}
				return ""
			})
			r.assertNothingElseChanged(t, tc.reason+" (after recovery)")
		})
	}
}

// TestAllowListSendsNothing proves that a host outside the allow-list gets
// no request at all, not even a connection: "localhost" reaches a listener
// on 127.0.0.1, which the provider config allows by address only, and the
// listener counts every connection made to it.
func TestAllowListSendsNothing(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	var connections atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			connections.Add(1)
			_ = c.Close()
		}
	}()
	// The listener is reachable: the count works.
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
	wait.For(t, 5*time.Second, "the listener counts a connection", func() string {
		if connections.Load() != 1 {
			return fmt.Sprintf("%d connections", connections.Load())
		}
		return ""
	})
	connections.Store(0)

	r := startRunning(t, runOptions{})
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	url := "https://localhost:" + port
	p := fmt.Sprintf(`{"spec":{"forProvider":{"tokenExchange":{"tokenUrl":%q,"issuerUrl":%q}}}}`, url+"/oauth2/token", url)
	if err := patch(t, &v1alpha1.ExternalAuthConfig{ObjectMeta: metav1.ObjectMeta{Namespace: r.ns, Name: r.name}}, p, true); err != nil {
		t.Fatal(err)
	}
	r.until(t, "the host refused", func() string {
		if got := r.conditions(t).Ready; !strings.HasPrefix(got, "False/HostNotAllowed: ") {
			return got
		}
		return ""
	})
	// Several more reconciles, past the verify interval, still send nothing.
	for range 5 {
		r.poke(t)
		time.Sleep(time.Second)
	}
	if n := connections.Load(); n != 0 {
		t.Errorf("a host outside the allow-list got %d connections", n)
	}
	r.assertNothingElseChanged(t, "A refused host keeps the last good connection secret.")
}

// kept is how a failed verification's condition ends when the connection
// secret keeps the configuration accepted at hash.
func kept(hash string) string {
	return "; the connection secret keeps the configuration accepted earlier (configHash " + hash + ")"
}
