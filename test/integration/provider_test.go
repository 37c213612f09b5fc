//go:build integration

package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/crossmcp/provider-mcp/test/wait"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/providerconfig"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	protectionv1beta1 "github.com/crossplane/crossplane/apis/v2/protection/v1beta1"

	"github.com/crossmcp/provider-mcp/apis/auth/v1alpha1"
	mcpv1alpha1 "github.com/crossmcp/provider-mcp/apis/v1alpha1"
	"github.com/crossmcp/provider-mcp/internal/controller/externalauthconfig"
)

// TestExampleReachesReady applies the README's example (pointed at the test
// authorization server) and checks the connection secret it publishes.
func TestExampleReachesReady(t *testing.T) {
	ns := namespace(t)
	s := &corev1.Secret{}
	if err := readExample("secret.yaml", s); err != nil {
		t.Fatal(err)
	}
	s.Namespace = ns
	s.StringData["client-secret"] = idp.ClientSecret
	mg := exampleEAC(t, ns)
	create(t, s, mg)

	wait.For(t, 30*time.Second, "example Ready", readyIs(t, ns, mg.Name, corev1.ConditionTrue, ""))
	got := getEAC(t, ns, mg.Name)
	hash := got.Status.AtProvider.ConfigHash
	want := map[string]string{
		"type":                       "tokenExchange",
		"token_url":                  idp.TokenURL,
		"client_id":                  idp.ClientID,
		"client_secret":              idp.ClientSecret,
		"audience":                   "backend-api",
		"scopes":                     "backend:read",
		"subject_token_type":         "urn:ietf:params:oauth:token-type:access_token",
		"header_strategy":            "replace",
		"external_token_header_name": "",
		"config_hash":                hash,
	}
	if diff := cmp.Diff(want, secretData(t, ns, "backend-api-token-exchange")); diff != "" {
		t.Errorf("connection secret: -want, +got:\n%s", diff)
	}
	v := got.Status.AtProvider.Verification
	if v == nil || v.Outcome != v1alpha1.VerificationSucceeded || v.ConfigHash != hash {
		t.Errorf("verification = %+v, want Succeeded for hash %s", v, hash)
	}
	if d := got.Status.AtProvider.Discovery; d == nil || d.TokenEndpoint != idp.TokenURL {
		t.Errorf("discovery = %+v, want the advertised token endpoint %s", d, idp.TokenURL)
	}
	if strings.Contains(fmt.Sprintf("%+v", got.Status), idp.ClientSecret) {
		t.Error("status carries the client secret")
	}
}

// TestRotation proves a rotated secret is checked within seconds, that
// bad credentials are reported, and that they never replace the accepted
// ones in the connection secret the workloads read.
func TestRotation(t *testing.T) {
	ns := namespace(t)
	mg := exampleEAC(t, ns)
	create(t, clientSecret(ns, idp.ClientSecret), mg)
	wait.For(t, 30*time.Second, "Ready", readyIs(t, ns, mg.Name, corev1.ConditionTrue, ""))
	good := getEAC(t, ns, mg.Name).Status.AtProvider.ConfigHash

	// Rotate to a secret the server rejects.
	if err := kube.Update(context.Background(), clientSecretWithVersion(t, ns, "wrong-secret")); err != nil {
		t.Fatal(err)
	}
	took := wait.For(t, 10*time.Second, "bad credentials reported", readyIs(t, ns, mg.Name, corev1.ConditionFalse, externalauthconfig.ReasonCredentialsRejected))
	t.Logf("the rejected rotation was reported in %s", took)
	at := getEAC(t, ns, mg.Name).Status.AtProvider
	if at.ConfigHash == good || at.PublishedConfigHash != good {
		t.Errorf("configHash %s, publishedConfigHash %s: want a new configHash and the accepted %s published", at.ConfigHash, at.PublishedConfigHash, good)
	}
	d := secretData(t, ns, "backend-api-token-exchange")
	if d["client_secret"] != idp.ClientSecret || d["config_hash"] != good {
		t.Errorf("connection secret holds client_secret accepted=%t, config_hash %s: want the accepted configuration %s", d["client_secret"] == idp.ClientSecret, d["config_hash"], good)
	}
	c := getEAC(t, ns, mg.Name).GetCondition(xpv2.TypeReady)
	if want := "the connection secret keeps the configuration accepted earlier (configHash " + good + ")"; !strings.Contains(c.Message, want) {
		t.Errorf("Ready message %q does not say %q", c.Message, want)
	}
	assertEvent(t, ns, mg.Name, "VerificationFailed")

	// Rotate back: the same content gives the same hash again.
	if err := kube.Update(context.Background(), clientSecretWithVersion(t, ns, idp.ClientSecret)); err != nil {
		t.Fatal(err)
	}
	wait.For(t, 10*time.Second, "Ready again", readyIs(t, ns, mg.Name, corev1.ConditionTrue, ""))
	if got := getEAC(t, ns, mg.Name).Status.AtProvider; got.ConfigHash != good || got.PublishedConfigHash != good {
		t.Errorf("hashes after rotating back = %s (published %s), want the original %s", got.ConfigHash, got.PublishedConfigHash, good)
	}

	// A rotation the server accepts is published within seconds. The
	// server is shared: the old secret stays valid for the other tests.
	if err := idp.RotateClientSecret(idp.ClientSecret+"-next", ""); err != nil {
		t.Fatal(err)
	}
	if err := kube.Update(context.Background(), clientSecretWithVersion(t, ns, idp.ClientSecret+"-next")); err != nil {
		t.Fatal(err)
	}
	took = wait.For(t, 10*time.Second, "rotated connection secret", func() string {
		d := secretData(t, ns, "backend-api-token-exchange")
		h := getEAC(t, ns, mg.Name).Status.AtProvider.ConfigHash
		if d["client_secret"] != idp.ClientSecret+"-next" || h == good || d["config_hash"] != h {
			return fmt.Sprintf("client_secret rotated=%t, status hash %s (was %s), published %s", d["client_secret"] == idp.ClientSecret+"-next", h, good, d["config_hash"])
		}
		return ""
	})
	t.Logf("an accepted rotation reached the connection secret in %s", took)
}

func clientSecretWithVersion(t *testing.T, ns, value string) *corev1.Secret {
	t.Helper()
	s := &corev1.Secret{}
	if err := kube.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: "idp-client"}, s); err != nil {
		t.Fatal(err)
	}
	s.Data = map[string][]byte{"client-secret": []byte(value)}
	return s
}

func assertEvent(t *testing.T, ns, name, reason string) {
	t.Helper()
	wait.For(t, 5*time.Second, "event "+reason, func() string {
		l := &corev1.EventList{}
		if err := kube.List(context.Background(), l, client.InNamespace(ns)); err != nil {
			return err.Error()
		}
		for _, e := range l.Items {
			if e.InvolvedObject.Name == name && e.Reason == reason {
				return ""
			}
		}
		return fmt.Sprintf("%d events, none %s", len(l.Items), reason)
	})
}

// TestLastGoodSecretStays proves a broken config leaves the published
// connection secret as it was.
func TestLastGoodSecretStays(t *testing.T) {
	ns := namespace(t)
	mg := exampleEAC(t, ns)
	create(t, clientSecret(ns, idp.ClientSecret), mg)
	wait.For(t, 30*time.Second, "Ready", readyIs(t, ns, mg.Name, corev1.ConditionTrue, ""))
	before := secretData(t, ns, "backend-api-token-exchange")

	if err := kube.Delete(context.Background(), clientSecret(ns, "")); err != nil {
		t.Fatal(err)
	}
	wait.For(t, 10*time.Second, "missing secret reported", readyIs(t, ns, mg.Name, corev1.ConditionFalse, "SecretNotFound"))
	c := getEAC(t, ns, mg.Name).GetCondition(xpv2.TypeReady)
	if want := `secret "idp-client" not found in namespace "` + ns + `"`; c.Message != want {
		t.Errorf("Ready message = %q, want %q", c.Message, want)
	}
	if diff := cmp.Diff(before, secretData(t, ns, "backend-api-token-exchange")); diff != "" {
		t.Errorf("connection secret changed after the client secret went missing: -before, +after:\n%s", diff)
	}
}

// TestObserveOnly proves the Observe policy reports but publishes nothing new.
func TestObserveOnly(t *testing.T) {
	ns := namespace(t)
	mg := exampleEAC(t, ns)
	mg.SetManagementPolicies(xpv2.ManagementPolicies{xpv2.ManagementActionObserve})
	create(t, clientSecret(ns, idp.ClientSecret), mg)
	wait.For(t, 30*time.Second, "hash reported", func() string {
		if getEAC(t, ns, mg.Name).Status.AtProvider.ConfigHash == "" {
			return "no configHash yet"
		}
		return ""
	})
	if d := secretData(t, ns, "backend-api-token-exchange"); len(d) != 0 {
		t.Fatalf("Observe-only published connection details: %v", keys(d))
	}

	// Allow publishing: the settings appear.
	setPolicies(t, ns, mg.Name, xpv2.ManagementPolicies{xpv2.ManagementActionAll})
	wait.For(t, 10*time.Second, "published", func() string {
		if secretData(t, ns, "backend-api-token-exchange")["config_hash"] == "" {
			return "nothing published"
		}
		return ""
	})
	published := secretData(t, ns, "backend-api-token-exchange")

	// Back to Observe-only: a rotation is reported, not published.
	setPolicies(t, ns, mg.Name, xpv2.ManagementPolicies{xpv2.ManagementActionObserve})
	wait.For(t, 10*time.Second, "the provider reconciled the Observe-only policy", func() string {
		got := getEAC(t, ns, mg.Name)
		if c := got.GetCondition(xpv2.TypeSynced); c.ObservedGeneration != got.GetGeneration() {
			return fmt.Sprintf("Synced observed generation %d of %d", c.ObservedGeneration, got.GetGeneration())
		}
		return ""
	})
	if err := kube.Update(context.Background(), clientSecretWithVersion(t, ns, "rotated")); err != nil {
		t.Fatal(err)
	}
	wait.For(t, 10*time.Second, "new hash reported", func() string {
		if h := getEAC(t, ns, mg.Name).Status.AtProvider.ConfigHash; h == published["config_hash"] {
			return "hash unchanged"
		}
		return ""
	})
	if diff := cmp.Diff(published, secretData(t, ns, "backend-api-token-exchange")); diff != "" {
		t.Errorf("Observe-only changed the connection secret: -before, +after:\n%s", diff)
	}
}

func setPolicies(t *testing.T, ns, name string, p xpv2.ManagementPolicies) {
	t.Helper()
	// The provider writes status concurrently: retry on conflicts.
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		mg := getEAC(t, ns, name)
		mg.SetManagementPolicies(p)
		return kube.Update(context.Background(), mg)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestProviderConfigDeletionBlocked proves a provider config in use cannot go
// until its users are gone.
func TestProviderConfigDeletionBlocked(t *testing.T) {
	ns := namespace(t)
	pc := &mcpv1alpha1.ClusterProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: "in-use"}}
	mg := exampleEAC(t, ns)
	mg.Spec.ProviderConfigReference = &xpv2.ProviderConfigReference{Kind: "ClusterProviderConfig", Name: "in-use"}
	off := false
	mg.Spec.ForProvider.TokenExchange.Verification = &v1alpha1.VerificationPolicy{Discovery: &off, CredentialProbe: &off}
	create(t, pc, clientSecret(ns, idp.ClientSecret), mg)

	wait.For(t, 30*time.Second, "provider config has a user", func() string {
		got := &mcpv1alpha1.ClusterProviderConfig{}
		if err := kube.Get(context.Background(), types.NamespacedName{Name: "in-use"}, got); err != nil {
			return err.Error()
		}
		if got.Status.Users != 1 || len(got.Finalizers) == 0 {
			return fmt.Sprintf("users=%d finalizers=%v", got.Status.Users, got.Finalizers)
		}
		return ""
	})
	if err := kube.Delete(context.Background(), pc); err != nil {
		t.Fatal(err)
	}
	wait.For(t, 10*time.Second, "deletion blocked, saying why", func() string {
		got := &mcpv1alpha1.ClusterProviderConfig{}
		if err := kube.Get(context.Background(), types.NamespacedName{Name: "in-use"}, got); err != nil {
			return fmt.Sprintf("provider config in use was deleted: %v", err)
		}
		if c := got.GetCondition(providerconfig.TypeTerminating); got.DeletionTimestamp == nil || c.Reason != providerconfig.ReasonInUse || !strings.Contains(c.Message, "1 ExternalAuthConfigs use it") {
			return fmt.Sprintf("deletionTimestamp=%v terminating=%+v", got.DeletionTimestamp, c)
		}
		return ""
	})
	// It stays so.
	time.Sleep(2 * time.Second)
	if err := kube.Get(context.Background(), types.NamespacedName{Name: "in-use"}, &mcpv1alpha1.ClusterProviderConfig{}); err != nil {
		t.Fatalf("provider config in use was deleted: %v", err)
	}
	// Users are counted from the configs themselves: no usage object exists.
	pcus := &mcpv1alpha1.ProviderConfigUsageList{}
	if err := kube.List(context.Background(), pcus, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	if len(pcus.Items) != 0 {
		t.Errorf("ProviderConfigUsages were written: %d", len(pcus.Items))
	}

	// The last user's deletion alone releases it.
	if err := kube.Delete(context.Background(), mg); err != nil {
		t.Fatal(err)
	}
	wait.For(t, 10*time.Second, "provider config deleted", func() string {
		err := kube.Get(context.Background(), types.NamespacedName{Name: "in-use"}, &mcpv1alpha1.ClusterProviderConfig{})
		if !kerrors.IsNotFound(err) {
			return fmt.Sprintf("still there: %v", err)
		}
		return ""
	})
}

// TestSchemaRejects proves each validation rule of the CRDs, one case per
// rule, against the real apiserver.
func TestSchemaRejects(t *testing.T) {
	ns := namespace(t)
	valid := func() map[string]any {
		mg := exampleEAC(t, ns)
		mg.Name = ""
		mg.GenerateName = "cel-"
		u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(mg)
		if err != nil {
			t.Fatal(err)
		}
		u["apiVersion"], u["kind"] = v1alpha1.SchemeGroupVersion.String(), v1alpha1.ExternalAuthConfigKind
		return u
	}
	te := func(u map[string]any) map[string]any {
		return u["spec"].(map[string]any)["forProvider"].(map[string]any)["tokenExchange"].(map[string]any)
	}
	fp := func(u map[string]any) map[string]any {
		return u["spec"].(map[string]any)["forProvider"].(map[string]any)
	}
	cases := map[string]struct {
		reason string
		mod    func(u map[string]any)
		want   string
	}{
		"Valid":                {reason: "The example itself is accepted.", mod: func(map[string]any) {}},
		"UnknownType":          {reason: "type is an enum.", mod: func(u map[string]any) { fp(u)["type"] = "awsSts" }, want: "Unsupported value"},
		"TokenExchangeMissing": {reason: "tokenExchange needs its block.", mod: func(u map[string]any) { delete(fp(u), "tokenExchange") }, want: "tokenExchange must be set if and only if type is tokenExchange"},
		"UnauthenticatedBlock": {reason: "unauthenticated has no block.", mod: func(u map[string]any) { fp(u)["type"] = "unauthenticated" }, want: "tokenExchange must be set if and only if type is tokenExchange"},
		"HeaderInjectionMissing": {reason: "headerInjection needs its block.", mod: func(u map[string]any) {
			fp(u)["type"] = "headerInjection"
			delete(fp(u), "tokenExchange")
		}, want: "headerInjection must be set if and only if type is headerInjection"},
		"BearerTokenMissing": {reason: "bearerToken needs its block.", mod: func(u map[string]any) {
			fp(u)["type"] = "bearerToken"
			delete(fp(u), "tokenExchange")
		}, want: "bearerToken must be set if and only if type is bearerToken"},
		"PlainHTTPTokenURL": {reason: "http needs the explicit switch.", mod: func(u map[string]any) { te(u)["tokenUrl"] = "http://127.0.0.1/token" }, want: "tokenUrl must be an https URL"},
		"PlainHTTPIssuer":   {reason: "The issuer too.", mod: func(u map[string]any) { te(u)["issuerUrl"] = "http://127.0.0.1" }, want: "issuerUrl must be an https URL"},
		"NotAURL":           {reason: "tokenUrl must be a URL.", mod: func(u map[string]any) { te(u)["tokenUrl"] = "https://exa mple.com/%zz" }, want: "tokenUrl must be an absolute URL"},
		"IssuerNotAURL":     {reason: "issuerUrl must be a URL.", mod: func(u map[string]any) { te(u)["issuerUrl"] = "https://exa mple.com/%zz" }, want: "issuerUrl must be an absolute URL"},
		"SecretWithoutID":   {reason: "A secret needs a client id.", mod: func(u map[string]any) { delete(te(u), "clientId") }, want: "clientSecretRef requires clientId"},
		"BadSubjectType":    {reason: "subjectTokenType follows ToolHive's pattern.", mod: func(u map[string]any) { te(u)["subjectTokenType"] = "saml2" }, want: "subjectTokenType"},
		"EmptyAudience":     {reason: "audience is required and not empty.", mod: func(u map[string]any) { te(u)["audience"] = "" }, want: "audience"},
		"BadHeaderName":     {reason: "A header name is an HTTP token.", mod: func(u map[string]any) { te(u)["externalTokenHeaderName"] = "Bad Header" }, want: "externalTokenHeaderName"},
		"SecretInOtherNamespace": {reason: "A secret reference has no namespace field: cross-namespace references are impossible.", mod: func(u map[string]any) {
			te(u)["clientSecretRef"].(map[string]any)["namespace"] = "other"
		}, want: `unknown field "spec.forProvider.tokenExchange.clientSecretRef.namespace"`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			u := valid()
			tc.mod(u)
			err := kube.Create(context.Background(), &unstructured.Unstructured{Object: u}, client.FieldValidation(metav1.FieldValidationStrict))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("\n%s\nCreate(...): %v", tc.reason, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("\n%s\nCreate(...): want an error containing %q, got %v", tc.reason, tc.want, err)
			}
		})
	}

	t.Run("CABundleExactlyOne", func(t *testing.T) {
		pc := &mcpv1alpha1.ProviderConfig{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "both"},
			Spec: mcpv1alpha1.ProviderConfigSpec{CABundle: &mcpv1alpha1.LocalCABundleSource{
				SecretRef:    &mcpv1alpha1.LocalKeyReference{Name: "a", Key: "b"},
				ConfigMapRef: &mcpv1alpha1.LocalKeyReference{Name: "a", Key: "b"},
			}},
		}
		err := kube.Create(context.Background(), pc)
		if err == nil || !strings.Contains(err.Error(), "exactly one of secretRef or configMapRef must be set") {
			t.Errorf("Create(ProviderConfig with both CA sources): got %v", err)
		}
	})

	t.Run("HTTPTimeoutCapped", func(t *testing.T) {
		pc := &mcpv1alpha1.ProviderConfig{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "slow"},
			Spec:       mcpv1alpha1.ProviderConfigSpec{ConnectionSettings: mcpv1alpha1.ConnectionSettings{HTTPTimeout: &metav1.Duration{Duration: 10 * time.Minute}}},
		}
		err := kube.Create(context.Background(), pc)
		if err == nil || !strings.Contains(err.Error(), "httpTimeout must be more than 0s and at most 30s") {
			t.Errorf("Create(ProviderConfig with httpTimeout 10m): got %v", err)
		}
	})
}

// TestUsedBy: the config's status lists what Crossplane Usages say uses it,
// and follows them as they come and go.
func TestUsedBy(t *testing.T) {
	ns := namespace(t)
	mg := exampleEAC(t, ns)
	create(t, clientSecret(ns, idp.ClientSecret), mg)
	wait.For(t, 30*time.Second, "Ready", readyIs(t, ns, mg.Name, corev1.ConditionTrue, ""))

	u := &protectionv1beta1.Usage{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "github-external-auth"},
		Spec: protectionv1beta1.UsageSpec{
			Of: protectionv1beta1.NamespacedResource{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: v1alpha1.ExternalAuthConfigKind, ResourceRef: &protectionv1beta1.NamespacedResourceRef{Name: mg.Name}},
			By: &protectionv1beta1.Resource{APIVersion: "apps/v1", Kind: "Deployment", ResourceRef: &protectionv1beta1.ResourceRef{Name: "github"}},
		},
	}
	create(t, u)
	want := []v1alpha1.ConfigUser{{APIVersion: "apps/v1", Kind: "Deployment", Name: "github", Usage: "github-external-auth"}}
	wait.For(t, 10*time.Second, "usedBy lists the Usage", func() string {
		return cmp.Diff(want, getEAC(t, ns, mg.Name).Status.AtProvider.UsedBy)
	})
	if err := kube.Delete(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	wait.For(t, 10*time.Second, "usedBy empties", func() string {
		if got := getEAC(t, ns, mg.Name).Status.AtProvider.UsedBy; len(got) != 0 {
			return fmt.Sprintf("still %v", got)
		}
		return ""
	})
}
