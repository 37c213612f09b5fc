package externalauthconfig

import (
	"context"
	"net/http"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/test"
)

// BenchmarkObserve measures Observe in the steady state of a token exchange
// config, the poll that runs for every config every poll interval: its
// client secret comes from the cache and its verification is remembered, so
// nothing talks to the authorization server.
func BenchmarkObserve(b *testing.B) {
	secret := clientSecret(secretVal)
	kube := &test.MockClient{
		MockGet: func(_ context.Context, key client.ObjectKey, obj client.Object) error {
			s, ok := obj.(*corev1.Secret)
			if !ok || key.Namespace != secret.Namespace || key.Name != secret.Name {
				return kerrors.NewNotFound(corev1.Resource("secrets"), key.Name)
			}
			// The informer cache hands out a copy, too.
			secret.DeepCopyInto(s)
			return nil
		},
	}
	ch := accepted()
	rec := &recorder{}
	e := &external{
		kube:     kube,
		verifier: newVerifier(func(*http.Client) Checker { return ch }, 10*time.Minute, 30*time.Second),
		recorder: rec,
		policies: true,
		settings: clientSettings{timeout: time.Second, allowed: []string{"auth.example.com"}},
	}
	mg := eac()
	ctx := context.Background()

	// The first Observe verifies and remembers the outcome.
	if _, err := e.Observe(ctx, mg); err != nil {
		b.Fatal(err)
	}

	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Observe(ctx, mg); err != nil {
			b.Fatal(err)
		}
	}

	// One probe in all, and no event: a first success is only Ready.
	if ch.probes != 1 || len(rec.events) != 0 {
		b.Fatalf("not a steady state: %d probes and %d events, want 1 and 0", ch.probes, len(rec.events))
	}
}
