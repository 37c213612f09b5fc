//go:build e2e

package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crossmcp/provider-mcp/test/wait"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	authv1alpha1 "github.com/crossmcp/provider-mcp/apis/auth/v1alpha1"
	"github.com/crossmcp/provider-mcp/internal/function/render"
)

// The demo authorization server the plane runs, and its client.
const (
	idpTokenURL     = "https://127.0.0.1:8443/oauth/token"
	idpClientID     = "mcp-proxy"
	idpClientSecret = "local-demo-secret"
)

// secretsUsed collects every secret value the flows put in Secrets, for the
// hygiene scan at the end.
var secretsUsed = []string{idpClientSecret}

// exampleConfig is examples/complete's ExternalAuthConfig in ns.
func exampleConfig(t *testing.T, ns, name string, mods ...func(*authv1alpha1.ExternalAuthConfig)) *authv1alpha1.ExternalAuthConfig {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "examples", "complete", "externalauthconfig.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	c := &authv1alpha1.ExternalAuthConfig{}
	if err := yaml.UnmarshalStrict(b, c); err != nil {
		t.Fatal(err)
	}
	c.Namespace, c.Name = ns, name
	c.Spec.WriteConnectionSecretToReference.Name = name + "-token-exchange"
	for _, m := range mods {
		m(c)
	}
	return c
}

// mcpServerXR is examples/complete's MCPServer in ns, using config.
func mcpServerXR(t *testing.T, ns, name, config string) *unstructured.Unstructured {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "examples", "complete", "xr.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(b, &u.Object); err != nil {
		t.Fatal(err)
	}
	u.SetNamespace(ns)
	u.SetName(name)
	_ = unstructured.SetNestedField(u.Object, config, "spec", "externalAuth", "configRef", "name")
	return u
}

// newNamespace creates namespace name with the ConfigMap local-idp-ca that
// the example MCPServer's spec.oidc.caBundleRef names, as make run does in
// demo: the proxy runner checks the local issuer's certificate with it.
func newNamespace(t *testing.T, name string) string {
	t.Helper()
	if err := kube.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
		t.Fatal(err)
	}
	ca, err := os.ReadFile(filepath.Join(state, "certs", "idp-ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: name, Name: "local-idp-ca"}, Data: map[string]string{"ca.crt": string(ca)}})
	return name
}

func clientSecretObj(ns, value string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "idp-client"}, StringData: map[string]string{"client-secret": value}}
}

func mustCreate(t *testing.T, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		if err := kube.Create(context.Background(), o); err != nil {
			t.Fatalf("cannot create %T %s: %v", o, o.GetName(), err)
		}
	}
}

func xrReady(t *testing.T, ns, name string) func() string {
	return func() string {
		xr := get(t, "platform.crossmcp.io/v1alpha1", "MCPServer", ns, name)
		if c := condition(xr, "Ready"); c.Status != corev1.ConditionTrue {
			return fmt.Sprintf("Ready=%s %s %s", c.Status, c.Reason, c.Message)
		}
		return ""
	}
}

func deployment(t *testing.T, ns, name string) *appsv1.Deployment {
	t.Helper()
	d := &appsv1.Deployment{}
	if err := kube.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, d); err != nil {
		t.Fatalf("cannot get Deployment %s/%s: %v", ns, name, err)
	}
	return d
}

func getConfig(t *testing.T, ns, name string) *authv1alpha1.ExternalAuthConfig {
	t.Helper()
	c := &authv1alpha1.ExternalAuthConfig{}
	if err := kube.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, c); err != nil {
		t.Fatal(err)
	}
	return c
}

// idpHTTP trusts the plane's authorization server.
func idpHTTP(t *testing.T) *http.Client {
	t.Helper()
	ca, err := os.ReadFile(filepath.Join(state, "certs", "idp-ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
}

// tokenResponse is an RFC 6749 / RFC 8693 token endpoint answer.
type tokenResponse struct {
	AccessToken     string `json:"access_token"`
	TokenType       string `json:"token_type"`
	IssuedTokenType string `json:"issued_token_type"`
	Scope           string `json:"scope"`
	Error           string `json:"error"`
}

func postToken(t *testing.T, hc *http.Client, tokenURL, id, secret string, form url.Values) tokenResponse {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	tr := tokenResponse{}
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil {
		t.Fatalf("token endpoint answered %s with a body that is not JSON: %v", resp.Status, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("token endpoint answered %s: %s", resp.Status, tr.Error)
	}
	return tr
}

// claims decodes a JWT's payload without verifying it: the server that
// issued it is ours, what matters here is what it says.
func claims(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// testRealTokenExchange performs the exchange exactly as the ToolHive proxy
// runner would, from nothing but what the cluster holds: the settings in the
// rendered runconfig.json, and the client secret from the Secret the
// Deployment's environment points at.
func testRealTokenExchange(t *testing.T) {
	ns := newNamespace(t, "exchange")
	cfg := exampleConfig(t, ns, "backend-api", func(c *authv1alpha1.ExternalAuthConfig) {
		c.Spec.ForProvider.TokenExchange.Scopes = []string{"backend:read", "backend:write"}
		c.Spec.ForProvider.TokenExchange.ExternalTokenHeaderName = "X-Upstream-Token"
	})
	mustCreate(t, clientSecretObj(ns, idpClientSecret), cfg, mcpServerXR(t, ns, "github", "backend-api"))
	wait.For(t, 2*time.Minute, "MCPServer Ready", xrReady(t, ns, "github"))

	cm := &corev1.ConfigMap{}
	if err := kube.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "github-runconfig"}, cm); err != nil {
		t.Fatal(err)
	}
	rc := &render.RunConfig{}
	if err := json.Unmarshal([]byte(cm.Data[render.RunConfigKey]), rc); err != nil {
		t.Fatal(err)
	}
	te := rc.TokenExchangeConfig
	if te == nil {
		t.Fatal("runconfig.json has no token_exchange_config")
	}
	var ref *corev1.SecretKeySelector
	for _, e := range deployment(t, ns, "github").Spec.Template.Spec.Containers[0].Env {
		if e.Name == render.EnvClientSecret {
			ref = e.ValueFrom.SecretKeyRef
		}
	}
	if ref == nil {
		t.Fatalf("the Deployment has no %s", render.EnvClientSecret)
	}
	sec := &corev1.Secret{}
	if err := kube.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: ref.Name}, sec); err != nil {
		t.Fatal(err)
	}
	clientSecret := string(sec.Data[ref.Key])

	hc := idpHTTP(t)
	// A real subject token: the user's token as the proxy would receive it.
	subject := postToken(t, hc, idpTokenURL, idpClientID, idpClientSecret, url.Values{"grant_type": {"client_credentials"}, "scope": {"openid"}})
	form := url.Values{
		"grant_type":           {"urn:ietf:params:oauth:grant-type:token-exchange"},
		"subject_token":        {subject.AccessToken},
		"subject_token_type":   {"urn:ietf:params:oauth:token-type:access_token"},
		"requested_token_type": {"urn:ietf:params:oauth:token-type:access_token"},
		"audience":             {te.Audience},
		"scope":                {strings.Join(te.Scopes, " ")},
	}
	if te.SubjectTokenType != "" {
		form.Set("subject_token_type", te.SubjectTokenType)
	}
	got := postToken(t, hc, te.TokenURL, te.ClientID, clientSecret, form)
	if got.TokenType != "Bearer" || got.IssuedTokenType != "urn:ietf:params:oauth:token-type:access_token" {
		t.Errorf("token_type %q issued_token_type %q, want Bearer and an access token", got.TokenType, got.IssuedTokenType)
	}
	c := claims(t, got.AccessToken)
	aud := fmt.Sprint(c["aud"])
	if !strings.Contains(aud, "backend-api") {
		t.Errorf("exchanged token audience %v, want backend-api", c["aud"])
	}
	if c["scope"] != "backend:read backend:write" {
		t.Errorf("exchanged token scope %v, want the configured scopes", c["scope"])
	}
	// Where the runner would put it.
	header := "Authorization"
	if te.HeaderStrategy == "custom" {
		header = te.ExternalTokenHeaderName
	}
	if header != "X-Upstream-Token" {
		t.Errorf("the exchanged token would go to header %q, want X-Upstream-Token", header)
	}
	t.Logf("exchanged a token for audience %v with scope %q, injected as %s: Bearer <token>", c["aud"], c["scope"], header)
}

// testBadCredentials: with a wrong client secret the real server refuses the
// credential probe, and the config says so in a condition and an event.
func testBadCredentials(t *testing.T) {
	ns := newNamespace(t, "badcreds")
	secretsUsed = append(secretsUsed, "not-the-client-secret")
	mustCreate(t, clientSecretObj(ns, "not-the-client-secret"), exampleConfig(t, ns, "backend-api"))
	wait.For(t, time.Minute, "CredentialsRejected", func() string {
		c := getConfig(t, ns, "backend-api").GetCondition(xpv2.TypeReady)
		if c.Status != corev1.ConditionFalse || c.Reason != "CredentialsRejected" {
			return fmt.Sprintf("Ready=%s %s %s", c.Status, c.Reason, c.Message)
		}
		return ""
	})
	wait.For(t, 30*time.Second, "VerificationFailed event", func() string {
		el := &corev1.EventList{}
		if err := kube.List(context.Background(), el, client.InNamespace(ns)); err != nil {
			return err.Error()
		}
		for _, e := range el.Items {
			if e.InvolvedObject.Name == "backend-api" && e.Reason == "VerificationFailed" && e.Type == corev1.EventTypeWarning {
				return ""
			}
		}
		return "no Warning event VerificationFailed"
	})
}

// testRotation: changing the user's client Secret, and nothing else, changes
// the connection secret, the configHash, the XR's externalAuthConfigHash and
// the Deployment's pod template. Latency over five rotations is logged
// (each waits for Crossplane's circuit breaker budget, so more cost minutes).
func testRotation(t *testing.T) {
	ns := newNamespace(t, "rotation")
	// The demo server knows one client secret; rotations to other values
	// would be refused by the credential probe, which is not what this
	// measures, so the probe is off here.
	cfg := exampleConfig(t, ns, "backend-api", func(c *authv1alpha1.ExternalAuthConfig) {
		c.Spec.ForProvider.TokenExchange.Verification = &authv1alpha1.VerificationPolicy{CredentialProbe: ptrTo(false)}
	})
	mustCreate(t, clientSecretObj(ns, idpClientSecret), cfg, mcpServerXR(t, ns, "github", "backend-api"))
	wait.For(t, 2*time.Minute, "MCPServer Ready", xrReady(t, ns, "github"))

	// Crossplane throttles an XR whose composed resources send bursts of
	// watch events (its circuit breaker: 100 events, refilled at one a
	// second). A rollout sends a burst of them (about 25 under kwok), so rotations here
	// come the way operators make them, one rollout at a time, with a pause
	// that lets the budget refill.
	settle := func() {
		wait.For(t, time.Minute, "rollout complete", func() string {
			d := deployment(t, ns, "github")
			if d.Status.ObservedGeneration != d.Generation || d.Status.UpdatedReplicas != 1 || d.Status.AvailableReplicas != 1 || d.Status.Replicas != 1 {
				return fmt.Sprintf("rollout in progress: %+v", d.Status)
			}
			return ""
		})
		time.Sleep(25 * time.Second)
	}
	settle()
	var took []time.Duration
	for i := range 5 {
		value := fmt.Sprintf("rotated-secret-%02d", i)
		secretsUsed = append(secretsUsed, value)
		before := getConfig(t, ns, "backend-api").Status.AtProvider.ConfigHash
		start := time.Now()
		setClientSecret(t, ns, value)
		wait.For(t, time.Minute, "rotation reaches the pod template", func() string {
			h := getConfig(t, ns, "backend-api").Status.AtProvider.ConfigHash
			if h == before {
				return "configHash unchanged"
			}
			conn := &corev1.Secret{}
			if err := kube.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "backend-api-token-exchange"}, conn); err != nil {
				return err.Error()
			}
			if string(conn.Data["client_secret"]) != value || string(conn.Data["config_hash"]) != h {
				return "connection secret not rotated"
			}
			xr := get(t, "platform.crossmcp.io/v1alpha1", "MCPServer", ns, "github")
			if xh, _, _ := unstructured.NestedString(xr.Object, "status", "externalAuthConfigHash"); xh != h {
				return "XR externalAuthConfigHash " + xh
			}
			if a := deployment(t, ns, "github").Spec.Template.Annotations[render.AnnotationConfigHash]; a != h {
				return "pod template annotation " + a
			}
			return ""
		})
		took = append(took, time.Since(start))
		settle()
	}
	slices.Sort(took)
	t.Logf("rotation latency over %d rotations (Secret update to new pod-template annotation): p50 %s, p95 %s, max %s",
		len(took), took[len(took)/2], took[(len(took)*95+99)/100-1], took[len(took)-1])
}

// testSharedConfigSpecChange: changing a shared config re-renders every
// MCPServer using it and leaves unrelated ones alone.
func testSharedConfigSpecChange(t *testing.T) {
	ns := newNamespace(t, "shared")
	mustCreate(t, clientSecretObj(ns, idpClientSecret), exampleConfig(t, ns, "shared"), exampleConfig(t, ns, "other"),
		mcpServerXR(t, ns, "one", "shared"), mcpServerXR(t, ns, "two", "shared"), mcpServerXR(t, ns, "three", "other"))
	for _, n := range []string{"one", "two", "three"} {
		wait.For(t, 2*time.Minute, n+" Ready", xrReady(t, ns, n))
	}
	untouched := deployment(t, ns, "three").ResourceVersion
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		c := getConfig(t, ns, "shared")
		c.Spec.ForProvider.TokenExchange.Audience = "backend-api-v2"
		return kube.Update(context.Background(), c)
	}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"one", "two"} {
		wait.For(t, time.Minute, n+" re-rendered", func() string {
			cm := &corev1.ConfigMap{}
			if err := kube.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: n + "-runconfig"}, cm); err != nil {
				return err.Error()
			}
			if !strings.Contains(cm.Data[render.RunConfigKey], `"audience": "backend-api-v2"`) {
				return "runconfig.json still has the old audience"
			}
			h := getConfig(t, ns, "shared").Status.AtProvider.ConfigHash
			if a := deployment(t, ns, n).Spec.Template.Annotations[render.AnnotationConfigHash]; a != h {
				return "pod template hash " + a + ", config " + h
			}
			return ""
		})
	}
	if rv := deployment(t, ns, "three").ResourceVersion; rv != untouched {
		t.Errorf("the Deployment of an MCPServer using another config changed (resourceVersion %s -> %s)", untouched, rv)
	}
}

// testBadConfigKeepsWorkload: a missing config, one that breaks, and a
// cross-namespace reference each get a clear message, and nothing running
// is deleted or rolled.
func testBadConfigKeepsWorkload(t *testing.T) {
	ns := newNamespace(t, "badconfig")
	mustCreate(t, mcpServerXR(t, ns, "orphan", "missing"))
	wait.For(t, time.Minute, "ConfigNotFound", func() string {
		c := condition(get(t, "platform.crossmcp.io/v1alpha1", "MCPServer", ns, "orphan"), "ExternalAuthReady")
		if c.Status != corev1.ConditionFalse || c.Reason != "ConfigNotFound" {
			return fmt.Sprintf("ExternalAuthReady=%s %s %s", c.Status, c.Reason, c.Message)
		}
		return ""
	})

	mustCreate(t, clientSecretObj(ns, idpClientSecret), exampleConfig(t, ns, "backend-api"), mcpServerXR(t, ns, "github", "backend-api"))
	wait.For(t, 2*time.Minute, "MCPServer Ready", xrReady(t, ns, "github"))
	before := deployment(t, ns, "github")
	if err := kube.Delete(context.Background(), clientSecretObj(ns, "")); err != nil {
		t.Fatal(err)
	}
	wait.For(t, time.Minute, "ConfigNotReady on the XR", func() string {
		c := condition(get(t, "platform.crossmcp.io/v1alpha1", "MCPServer", ns, "github"), "ExternalAuthReady")
		if c.Status != corev1.ConditionFalse || c.Reason != "ConfigNotReady" || !strings.Contains(c.Message, "SecretNotFound") {
			return fmt.Sprintf("ExternalAuthReady=%s %s %s", c.Status, c.Reason, c.Message)
		}
		return ""
	})
	after := deployment(t, ns, "github")
	if after.Generation != before.Generation || after.Spec.Template.Annotations[render.AnnotationConfigHash] != before.Spec.Template.Annotations[render.AnnotationConfigHash] {
		t.Errorf("a broken config changed the running Deployment (generation %d -> %d)", before.Generation, after.Generation)
	}
	mustCreate(t, clientSecretObj(ns, idpClientSecret))
	wait.For(t, time.Minute, "recovered", func() string {
		c := condition(get(t, "platform.crossmcp.io/v1alpha1", "MCPServer", ns, "github"), "ExternalAuthReady")
		if c.Status != corev1.ConditionTrue {
			return fmt.Sprintf("ExternalAuthReady=%s %s %s", c.Status, c.Reason, c.Message)
		}
		return ""
	})

	xr := mcpServerXR(t, ns, "cross", "backend-api")
	_ = unstructured.SetNestedField(xr.Object, "other-team", "spec", "externalAuth", "configRef", "namespace")
	err := kube.Create(context.Background(), xr)
	if err == nil || !strings.Contains(err.Error(), "cross-namespace references are not allowed") {
		t.Errorf("a cross-namespace configRef: want it refused with a clear message, got %v", err)
	}
}

func ptrTo[T any](v T) *T { return &v }
