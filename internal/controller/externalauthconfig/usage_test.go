package externalauthconfig

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	protectionv1beta1 "github.com/crossplane/crossplane/apis/v2/protection/v1beta1"

	"github.com/crossmcp/provider-mcp/apis/auth/v1alpha1"
)

func usage(name, namespace, ofKind, ofName string, mods ...func(*protectionv1beta1.Usage)) *protectionv1beta1.Usage {
	u := &protectionv1beta1.Usage{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: protectionv1beta1.UsageSpec{
			Of: protectionv1beta1.NamespacedResource{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: ofKind, ResourceRef: &protectionv1beta1.NamespacedResourceRef{Name: ofName}},
			By: &protectionv1beta1.Resource{APIVersion: "apps/v1", Kind: "Deployment", ResourceRef: &protectionv1beta1.ResourceRef{Name: name + "-deploy"}},
		},
	}
	for _, m := range mods {
		m(u)
	}
	return u
}

func TestUsers(t *testing.T) {
	objs := []client.Object{
		usage("b-uses", ns, v1alpha1.ExternalAuthConfigKind, configName),
		usage("a-uses", ns, v1alpha1.ExternalAuthConfigKind, configName),
		usage("other-config", ns, v1alpha1.ExternalAuthConfigKind, "other"),
		usage("other-kind", ns, "Secret", configName),
		usage("other-namespace", "team-b", v1alpha1.ExternalAuthConfigKind, configName),
		usage("selector", ns, v1alpha1.ExternalAuthConfigKind, "", func(u *protectionv1beta1.Usage) {
			u.Spec.Of.ResourceRef = nil
			u.Spec.Of.ResourceSelector = &protectionv1beta1.NamespacedResourceSelector{MatchLabels: map[string]string{"a": "b"}}
		}),
		usage("reason-only", ns, v1alpha1.ExternalAuthConfigKind, configName, func(u *protectionv1beta1.Usage) {
			u.Spec.By, u.Spec.Reason = nil, ptr.To("kept by hand")
		}),
	}
	c := fake.NewClientBuilder().WithScheme(scheme(t)).WithObjects(objs...).Build()
	got, err := users(context.Background(), c, eac())
	if err != nil {
		t.Fatal(err)
	}
	want := []v1alpha1.ConfigUser{
		{APIVersion: "apps/v1", Kind: "Deployment", Name: "a-uses-deploy", Usage: "a-uses"},
		{APIVersion: "apps/v1", Kind: "Deployment", Name: "b-uses-deploy", Usage: "b-uses"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("users(...): -want, +got:\n%s", diff)
	}

	// Observe reports them.
	c = fake.NewClientBuilder().WithScheme(scheme(t)).WithObjects(append(objs, clientSecret(secretVal))...).Build()
	mg := eac()
	e, _ := newExternal(t, c, accepted())
	e.reportUsers = true
	if _, err := e.Observe(context.Background(), mg); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, mg.Status.AtProvider.UsedBy); diff != "" {
		t.Errorf("Observe: status.atProvider.usedBy: -want, +got:\n%s", diff)
	}
}

func TestConfigsForUsage(t *testing.T) {
	cases := map[string]struct {
		reason string
		u      client.Object
		want   []reconcile.Request
	}{
		"SameNamespace": {
			reason: "A Usage of a config enqueues it.",
			u:      usage("u", ns, v1alpha1.ExternalAuthConfigKind, configName),
			want:   []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: ns, Name: configName}}},
		},
		"ExplicitNamespace": {
			reason: "A Usage naming the config's namespace enqueues it there.",
			u: usage("u", ns, v1alpha1.ExternalAuthConfigKind, configName, func(u *protectionv1beta1.Usage) {
				u.Spec.Of.ResourceRef.Namespace = ptr.To("team-b")
			}),
			want: []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: "team-b", Name: configName}}},
		},
		"OtherKind":  {reason: "Usages of other kinds enqueue nothing.", u: usage("u", ns, "Secret", configName)},
		"NotAUsage":  {reason: "Other objects enqueue nothing.", u: eac()},
		"OtherGroup": {reason: "A same-named kind of another group enqueues nothing.", u: usage("u", ns, v1alpha1.ExternalAuthConfigKind, configName, func(u *protectionv1beta1.Usage) { u.Spec.Of.APIVersion = "toolhive.stacklok.dev/v1alpha1" })},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, configsForUsage(context.Background(), tc.u)); diff != "" {
				t.Errorf("%s\nconfigsForUsage(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestMayWatchUsages(t *testing.T) {
	cases := map[string]struct {
		reason  string
		allowed map[string]bool
		err     error
		want    bool
		wantErr bool
	}{
		"Allowed":     {reason: "List and watch allowed: report users.", allowed: map[string]bool{"list": true, "watch": true}, want: true},
		"NoWatch":     {reason: "Without watch, users are not reported.", allowed: map[string]bool{"list": true}},
		"ReviewFails": {reason: "A failed review is an error.", err: errors.New("boom"), wantErr: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := fake.NewClientBuilder().WithScheme(scheme(t)).WithInterceptorFuncs(interceptor.Funcs{
				Create: func(_ context.Context, _ client.WithWatch, o client.Object, _ ...client.CreateOption) error {
					r := o.(*authorizationv1.SelfSubjectAccessReview)
					if r.Spec.ResourceAttributes.Group != "protection.crossplane.io" || r.Spec.ResourceAttributes.Resource != "usages" {
						t.Errorf("reviewed %+v, want usages of protection.crossplane.io", r.Spec.ResourceAttributes)
					}
					r.Status.Allowed = tc.allowed[r.Spec.ResourceAttributes.Verb]
					return tc.err
				},
			}).Build()
			got, err := mayWatchUsages(context.Background(), c)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("%s\nmayWatchUsages(...) = %v, %v; want %v, error %v", tc.reason, got, err, tc.want, tc.wantErr)
			}
		})
	}
}
