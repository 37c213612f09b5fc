package quiet

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/crossmcp/provider-mcp/apis"
	"github.com/crossmcp/provider-mcp/apis/auth/v1alpha1"
)

func TestUpdate(t *testing.T) {
	type want struct {
		Writes   int
		Hash     string
		Labels   map[string]string
		Conflict bool
	}
	cases := map[string]struct {
		reason string
		status bool
		change func(*v1alpha1.ExternalAuthConfig)
		want   want
	}{
		"StatusUnchanged": {
			reason: "A status equal to the stored one is not written.",
			status: true,
			change: func(*v1alpha1.ExternalAuthConfig) {},
			want:   want{Hash: "stored"},
		},
		"SameConditionAgain": {
			reason: "Setting a condition that is already set changes nothing.",
			status: true,
			change: func(mg *v1alpha1.ExternalAuthConfig) { mg.SetConditions(xpv2.ReconcileSuccess()) },
			want:   want{Hash: "stored"},
		},
		"SubSecondTimestamp": {
			reason: "A timestamp the API server would store the same, at second precision, changes nothing.",
			status: true,
			change: func(mg *v1alpha1.ExternalAuthConfig) {
				c := mg.GetCondition(xpv2.TypeSynced)
				c.LastTransitionTime = metav1.NewTime(c.LastTransitionTime.Add(time.Millisecond))
				mg.Status.Conditions = []xpv2.Condition{c}
			},
			want: want{Hash: "stored"},
		},
		"StatusChanged": {
			reason: "A changed status is written.",
			status: true,
			change: func(mg *v1alpha1.ExternalAuthConfig) { mg.Status.AtProvider.ConfigHash = "new" },
			want:   want{Writes: 1, Hash: "new"},
		},
		"StaleStatus": {
			reason: "An object older than the stored one is written, so the API server can refuse it.",
			status: true,
			change: func(mg *v1alpha1.ExternalAuthConfig) { mg.SetResourceVersion("1") },
			want:   want{Writes: 1, Hash: "stored", Conflict: true},
		},
		"ObjectUnchanged": {
			reason: "An object equal to the stored one is not written.",
			change: func(*v1alpha1.ExternalAuthConfig) {},
			want:   want{Hash: "stored"},
		},
		"OnlyStatusChanged": {
			reason: "An update of the object ignores status, so a status change alone is not written there.",
			change: func(mg *v1alpha1.ExternalAuthConfig) { mg.Status.AtProvider.ConfigHash = "new" },
			want:   want{Hash: "stored"},
		},
		"ObjectChanged": {
			reason: "A changed label is written.",
			change: func(mg *v1alpha1.ExternalAuthConfig) { mg.SetLabels(map[string]string{"a": "b"}) },
			want:   want{Writes: 1, Hash: "stored", Labels: map[string]string{"a": "b"}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := runtime.NewScheme()
			if err := apis.AddToScheme(s); err != nil {
				t.Fatal(err)
			}
			stored := &v1alpha1.ExternalAuthConfig{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "idp"}}
			stored.Status.AtProvider.ConfigHash = "stored"
			stored.SetConditions(xpv2.ReconcileSuccess())
			writes := 0
			c := fake.NewClientBuilder().WithScheme(s).WithObjects(stored).WithStatusSubresource(stored).
				WithInterceptorFuncs(interceptor.Funcs{
					Update: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
						writes++
						return c.Update(ctx, obj, opts...)
					},
					SubResourceUpdate: func(ctx context.Context, c client.Client, sub string, obj client.Object, opts ...client.SubResourceUpdateOption) error {
						writes++
						return c.SubResource(sub).Update(ctx, obj, opts...)
					},
				}).Build()
			q := Client{Client: c}

			mg := &v1alpha1.ExternalAuthConfig{}
			if err := q.Get(context.Background(), client.ObjectKeyFromObject(stored), mg); err != nil {
				t.Fatal(err)
			}
			tc.change(mg)
			var err error
			if tc.status {
				err = q.Status().Update(context.Background(), mg)
			} else {
				err = q.Update(context.Background(), mg)
			}
			got := &v1alpha1.ExternalAuthConfig{}
			if err := c.Get(context.Background(), client.ObjectKeyFromObject(stored), got); err != nil {
				t.Fatal(err)
			}
			g := want{Writes: writes, Hash: got.Status.AtProvider.ConfigHash, Labels: got.GetLabels(), Conflict: kerrors.IsConflict(err)}
			if diff := cmp.Diff(tc.want, g); diff != "" {
				t.Errorf("\n%s\nUpdate(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}
