package config

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/crossplane/crossplane-runtime/v2/pkg/event"
	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/providerconfig"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"

	"github.com/crossmcp/provider-mcp/apis"
	authv1alpha1 "github.com/crossmcp/provider-mcp/apis/auth/v1alpha1"
	"github.com/crossmcp/provider-mcp/apis/v1alpha1"
)

type usersFn func(ctx context.Context, kind, namespace, name string) (int64, error)

func (f usersFn) Count(ctx context.Context, kind, namespace, name string) (int64, error) {
	return f(ctx, kind, namespace, name)
}

func users(n int64, err error) usersFn {
	return func(context.Context, string, string, string) (int64, error) { return n, err }
}

func testScheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	if err := apis.AddToSchemes.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return s
}

func cpc(mods ...func(*v1alpha1.ClusterProviderConfig)) *v1alpha1.ClusterProviderConfig {
	pc := &v1alpha1.ClusterProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: "default"}}
	for _, m := range mods {
		m(pc)
	}
	return pc
}

func withFinalizer(pc *v1alpha1.ClusterProviderConfig) { pc.Finalizers = []string{Finalizer} }

func deleting(pc *v1alpha1.ClusterProviderConfig) {
	now := metav1.Now()
	pc.DeletionTimestamp = &now
	pc.Finalizers = []string{Finalizer}
}

func TestReconcile(t *testing.T) {
	type want struct {
		result     reconcile.Result
		err        bool
		gone       bool
		finalizers []string
		users      int64
		blocking   string // the Terminating condition's message, if any
	}
	cases := map[string]struct {
		reason string
		pc     *v1alpha1.ClusterProviderConfig
		users  Users
		want   want
	}{
		"NotFound": {
			reason: "A provider config that is gone needs nothing.",
			users:  users(0, nil),
			want:   want{gone: true},
		},
		"CountsUsers": {
			reason: "A provider config gets the finalizer and its user count.",
			pc:     cpc(),
			users:  users(3, nil),
			want:   want{finalizers: []string{Finalizer}, users: 3},
		},
		"NoUsers": {
			reason: "A provider config nobody uses keeps the finalizer, so a later user is protected at once.",
			pc:     cpc(withFinalizer),
			users:  users(0, nil),
			want:   want{finalizers: []string{Finalizer}},
		},
		"CountFails": {
			reason: "A count that fails changes nothing and is retried.",
			pc:     cpc(),
			users:  users(0, errors.New("cache not synced")),
			want:   want{result: reconcile.Result{RequeueAfter: retryWait}},
		},
		"DeletionBlocked": {
			reason: "A provider config in use keeps its finalizer while deleted, and says why.",
			pc:     cpc(deleting),
			users:  users(2, nil),
			want:   want{finalizers: []string{Finalizer}, users: 2, blocking: "Blocking deletion while 2 ExternalAuthConfigs use it"},
		},
		"DeletionAllowed": {
			reason: "The last user gone, a deleted provider config goes.",
			pc:     cpc(deleting),
			users:  users(0, nil),
			want:   want{gone: true},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			b := fake.NewClientBuilder().WithScheme(testScheme(t)).WithStatusSubresource(&v1alpha1.ClusterProviderConfig{})
			if tc.pc != nil {
				b = b.WithObjects(tc.pc)
			}
			kube := b.Build()
			r := &Reconciler{
				kube:   kube,
				users:  tc.users,
				kind:   v1alpha1.ClusterProviderConfigKind,
				newPC:  func() resource.ProviderConfig { return &v1alpha1.ClusterProviderConfig{} },
				log:    logging.NewNopLogger(),
				record: event.NewNopRecorder(),
			}
			res, err := r.Reconcile(context.Background(), reconcile.Request{NamespacedName: types.NamespacedName{Name: "default"}})
			got := want{result: res, err: err != nil}
			pc := &v1alpha1.ClusterProviderConfig{}
			if err := kube.Get(context.Background(), types.NamespacedName{Name: "default"}, pc); kerrors.IsNotFound(err) {
				got.gone = true
			} else if err != nil {
				t.Fatal(err)
			}
			if !got.gone {
				got.finalizers, got.users = pc.Finalizers, pc.Status.Users
				if c := pc.GetCondition(providerconfig.TypeTerminating); c.Status == corev1.ConditionTrue {
					got.blocking = c.Message
				}
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("\n%s\nReconcile(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestReconcileCountsInItsNamespace(t *testing.T) {
	var asked []string
	pc := &v1alpha1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "local"}}
	kube := fake.NewClientBuilder().WithScheme(testScheme(t)).WithStatusSubresource(pc).WithObjects(pc).Build()
	r := &Reconciler{
		kube: kube,
		users: usersFn(func(_ context.Context, kind, namespace, name string) (int64, error) {
			asked = []string{kind, namespace, name}
			return 1, nil
		}),
		kind:   v1alpha1.ProviderConfigKind,
		newPC:  func() resource.ProviderConfig { return &v1alpha1.ProviderConfig{} },
		log:    logging.NewNopLogger(),
		record: event.NewNopRecorder(),
	}
	if _, err := r.Reconcile(context.Background(), reconcile.Request{NamespacedName: client.ObjectKeyFromObject(pc)}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{v1alpha1.ProviderConfigKind, "team-a", "local"}, asked); diff != "" {
		t.Errorf("a ProviderConfig's users are counted in its namespace: -want, +got:\n%s", diff)
	}
}

func TestProviderConfigOf(t *testing.T) {
	eac := func(ref *xpv2.ProviderConfigReference) *authv1alpha1.ExternalAuthConfig {
		mg := &authv1alpha1.ExternalAuthConfig{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "cfg"}}
		mg.Spec.ProviderConfigReference = ref
		return mg
	}
	cases := map[string]struct {
		reason string
		kind   string
		obj    client.Object
		want   []reconcile.Request
	}{
		"ClusterProviderConfig": {
			reason: "A config maps to the ClusterProviderConfig it names.",
			kind:   v1alpha1.ClusterProviderConfigKind,
			obj:    eac(&xpv2.ProviderConfigReference{Kind: v1alpha1.ClusterProviderConfigKind, Name: "default"}),
			want:   []reconcile.Request{{NamespacedName: types.NamespacedName{Name: "default"}}},
		},
		"ProviderConfig": {
			reason: "A namespaced ProviderConfig is in the config's namespace.",
			kind:   v1alpha1.ProviderConfigKind,
			obj:    eac(&xpv2.ProviderConfigReference{Kind: v1alpha1.ProviderConfigKind, Name: "local"}),
			want:   []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: "team-a", Name: "local"}}},
		},
		"OtherKind": {
			reason: "The controller of one kind ignores configs naming the other.",
			kind:   v1alpha1.ProviderConfigKind,
			obj:    eac(&xpv2.ProviderConfigReference{Kind: v1alpha1.ClusterProviderConfigKind, Name: "default"}),
		},
		"NoReference": {
			reason: "A config without a reference maps to nothing.",
			kind:   v1alpha1.ClusterProviderConfigKind,
			obj:    eac(nil),
		},
		"NotAConfig": {
			reason: "Other objects map to nothing.",
			kind:   v1alpha1.ClusterProviderConfigKind,
			obj:    cpc(),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := ProviderConfigOf(tc.kind)(context.Background(), tc.obj)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("\n%s\nProviderConfigOf(%q): -want, +got:\n%s", tc.reason, tc.kind, diff)
			}
		})
	}
}
