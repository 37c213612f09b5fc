//go:build e2e

package e2e

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	authv1alpha1 "github.com/crossmcp/provider-mcp/apis/auth/v1alpha1"
	mcpv1alpha1 "github.com/crossmcp/provider-mcp/apis/v1alpha1"
	"github.com/crossmcp/provider-mcp/test/wait"
)

// testTenantCannotReachPrivateNetworks: a tenant's namespaced ProviderConfig
// cannot make the provider contact what only the cluster reaches: the local
// authorization server on loopback, or cloud metadata. The provider runs as
// it is installed, without --namespaced-private-networks.
func testTenantCannotReachPrivateNetworks(t *testing.T) {
	ns := newNamespace(t, "tenant-ssrf")
	open := &mcpv1alpha1.ProviderConfig{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "open"},
		Spec:       mcpv1alpha1.ProviderConfigSpec{ConnectionSettings: mcpv1alpha1.ConnectionSettings{AllowPrivateNetworks: true}},
	}
	plain := &mcpv1alpha1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "plain"}}
	using := func(name, pc, tokenURL string) *authv1alpha1.ExternalAuthConfig {
		return exampleConfig(t, ns, name, func(c *authv1alpha1.ExternalAuthConfig) {
			c.Spec.ProviderConfigReference = &xpv2.ProviderConfigReference{Kind: mcpv1alpha1.ProviderConfigKind, Name: pc}
			c.Spec.ForProvider.TokenExchange.TokenURL = tokenURL
			c.Spec.ForProvider.TokenExchange.IssuerURL = ""
		})
	}
	mustCreate(t, clientSecretObj(ns, idpClientSecret), open, plain,
		using("loopback", "plain", idpIssuer+"/oauth/token"),
		using("metadata", "plain", "https://169.254.169.254/latest/meta-data/iam/security-credentials/"),
		using("self-allowed", "open", idpIssuer+"/oauth/token"))
	for name, want := range map[string]string{
		"loopback":     "PrivateNetworkNotAllowed",
		"metadata":     "PrivateNetworkNotAllowed",
		"self-allowed": "ProviderConfigInvalid",
	} {
		wait.For(t, time.Minute, name+" refused with "+want, func() string {
			c := getConfig(t, ns, name).GetCondition(xpv2.TypeReady)
			if c.Status != corev1.ConditionFalse || string(c.Reason) != want {
				return fmt.Sprintf("Ready=%s %s %s", c.Status, c.Reason, c.Message)
			}
			return ""
		})
		if s := getConfig(t, ns, name).Status.AtProvider.PublishedConfigHash; s != "" {
			t.Errorf("%s: published configHash %s: a refused config publishes nothing", name, s)
		}
	}
}
