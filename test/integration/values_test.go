//go:build integration

package integration

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/crossmcp/provider-mcp/test/wait"
)

// A requestLog records the provider's requests for Secrets and ConfigMaps,
// as its manager sends them to the API server.
type requestLog struct {
	mu   sync.Mutex
	reqs []apiRequest
}

type apiRequest struct {
	Method, Path, Query, Accept string
}

func (l *requestLog) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripper(func(r *http.Request) (*http.Response, error) {
		if p := r.URL.Path; strings.Contains(p, "/secrets") || strings.Contains(p, "/configmaps") {
			l.mu.Lock()
			l.reqs = append(l.reqs, apiRequest{Method: r.Method, Path: p, Query: r.URL.RawQuery, Accept: r.Header.Get("Accept")})
			l.mu.Unlock()
		}
		return rt.RoundTrip(r)
	})
}

func (l *requestLog) all() []apiRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]apiRequest(nil), l.reqs...)
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestProviderHoldsNoSecretValues proves the provider neither lists nor
// watches the values of the cluster's Secrets and ConfigMaps, reads only
// the ones its configs reference, and keeps no more of the others than
// their names: not even a kubectl last-applied annotation, which holds a
// Secret's data.
func TestProviderHoldsNoSecretValues(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t)
	value := strings.Repeat("u", 10<<10)
	unrelated := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:   ns,
			Name:        "unrelated",
			Labels:      map[string]string{"team": "payments"},
			Annotations: map[string]string{"kubectl.kubernetes.io/last-applied-configuration": fmt.Sprintf(`{"data":{"password":%q}}`, value)},
		},
		Data: map[string][]byte{"password": []byte(value)},
	}
	mg := exampleEAC(t, ns)
	create(t, unrelated, clientSecret(ns, idp.ClientSecret), mg)
	wait.For(t, 30*time.Second, "config Ready", readyIs(t, ns, mg.Name, corev1.ConditionTrue, ""))

	for _, r := range apiLog.all() {
		watchOrList := r.Method == http.MethodGet && !strings.Contains(r.Path, "/secrets/") && !strings.Contains(r.Path, "/configmaps/")
		if watchOrList && !strings.Contains(r.Accept, "as=PartialObjectMetadata") {
			t.Errorf("the provider listed or watched values: %s %s?%s (Accept %q)", r.Method, r.Path, r.Query, r.Accept)
		}
		if strings.HasSuffix(r.Path, "/namespaces/"+ns+"/secrets/unrelated") {
			t.Errorf("the provider read a Secret no config references: %s %s", r.Method, r.Path)
		}
	}

	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	wait.For(t, 10*time.Second, "the unrelated Secret's metadata in the provider's cache", func() string {
		if err := mgr.GetCache().Get(ctx, types.NamespacedName{Namespace: ns, Name: unrelated.Name}, m); err != nil {
			return err.Error()
		}
		return ""
	})
	if len(m.Annotations) != 0 || len(m.Labels) != 0 {
		t.Errorf("the provider's cache holds the unrelated Secret's annotations %d and labels %v, want neither", len(m.Annotations), m.Labels)
	}
}
