package hashkey

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
)

const ns, name = "crossplane-system", "provider-mcp-hash-key"

func secret(key []byte) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: map[string][]byte{DataKey: key}}
}

func TestEnsure(t *testing.T) {
	existing := []byte("an existing key of 32 bytes long")
	cases := map[string]struct {
		reason  string
		objs    []client.Object
		funcs   interceptor.Funcs
		want    []byte // nil: a new random key
		wantErr string
	}{
		"Made": {
			reason: "Without a Secret, one is made with a random key of Size bytes.",
		},
		"Kept": {
			reason: "An existing key is used as it is: rotating it is deleting the Secret.",
			objs:   []client.Object{secret(existing)},
			want:   existing,
		},
		"TooShort": {
			reason:  "A key too short to keep guesses out is refused, with what to do.",
			objs:    []client.Object{secret([]byte("short"))},
			wantErr: "has 5 bytes: it needs at least 16; delete the Secret",
		},
		"Raced": {
			reason: "Another provider made it between our read and our create: theirs is used.",
			funcs: interceptor.Funcs{Create: func(ctx context.Context, c client.WithWatch, o client.Object, _ ...client.CreateOption) error {
				if err := c.Create(ctx, secret(existing)); err != nil {
					return err
				}
				return kerrors.NewAlreadyExists(schema.GroupResource{Resource: "secrets"}, o.GetName())
			}},
			want: existing,
		},
	}
	for n, tc := range cases {
		t.Run(n, func(t *testing.T) {
			c := fake.NewClientBuilder().WithObjects(tc.objs...).WithInterceptorFuncs(tc.funcs).Build()
			got, err := Ensure(context.Background(), c, ns, name)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("\n%s\nEnsure(...): want error containing %q, got %v", tc.reason, tc.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("\n%s\nEnsure(...): %v", tc.reason, err)
			}
			stored := &corev1.Secret{}
			if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, stored); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(stored.Data[DataKey], got); diff != "" {
				t.Errorf("\n%s\nEnsure(...) is not the stored key: -stored, +got:\n%s", tc.reason, diff)
			}
			if tc.want != nil {
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("\n%s\nEnsure(...): -want, +got:\n%s", tc.reason, diff)
				}
			} else if len(got) != Size {
				t.Errorf("\n%s\nEnsure(...) made a key of %d bytes, want %d", tc.reason, len(got), Size)
			}
		})
	}
}
