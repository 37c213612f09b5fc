//go:build integration

package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/crossmcp/provider-mcp/apis/auth/v1alpha1"
)

// readExample decodes a file of examples/externalauthconfig.
func readExample(name string, into any) error {
	b, err := os.ReadFile(filepath.Join("..", "..", "examples", "externalauthconfig", name))
	if err != nil {
		return err
	}
	return yaml.UnmarshalStrict(b, into)
}

// namespace creates a namespace for one test.
func namespace(t *testing.T) string {
	t.Helper()
	name := "it-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	if len(name) > 63 {
		name = name[:63]
	}
	if err := kube.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
		t.Fatalf("cannot create namespace: %v", err)
	}
	return name
}

func getEAC(t *testing.T, ns, name string) *v1alpha1.ExternalAuthConfig {
	t.Helper()
	mg := &v1alpha1.ExternalAuthConfig{}
	if err := kube.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, mg); err != nil {
		t.Fatalf("cannot get ExternalAuthConfig: %v", err)
	}
	return mg
}

// readyIs returns a condition check for the config's Ready condition.
func readyIs(t *testing.T, ns, name string, status corev1.ConditionStatus, reason xpv2.ConditionReason) func() string {
	return func() string {
		c := getEAC(t, ns, name).GetCondition(xpv2.TypeReady)
		if c.Status != status || (reason != "" && c.Reason != reason) {
			return fmt.Sprintf("Ready is %s/%s (%s), want %s/%s", c.Status, c.Reason, c.Message, status, reason)
		}
		return ""
	}
}

func secretData(t *testing.T, ns, name string) map[string]string {
	t.Helper()
	s := &corev1.Secret{}
	if err := kube.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, s); err != nil {
		return nil
	}
	out := map[string]string{}
	for k, v := range s.Data {
		out[k] = string(v)
	}
	return out
}

func clientSecret(ns, value string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "idp-client"},
		Data:       map[string][]byte{"client-secret": []byte(value)},
	}
}

// exampleEAC is the README's ExternalAuthConfig pointed at the test server.
func exampleEAC(t *testing.T, ns string) *v1alpha1.ExternalAuthConfig {
	t.Helper()
	mg := &v1alpha1.ExternalAuthConfig{}
	if err := readExample("externalauthconfig.yaml", mg); err != nil {
		t.Fatal(err)
	}
	mg.Namespace = ns
	te := mg.Spec.ForProvider.TokenExchange
	te.TokenURL, te.IssuerURL, te.ClientID = idp.TokenURL, idp.Issuer, idp.ClientID
	return mg
}

func create(t *testing.T, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		if err := kube.Create(context.Background(), o); err != nil {
			t.Fatalf("cannot create %T %s: %v", o, o.GetName(), err)
		}
	}
}
