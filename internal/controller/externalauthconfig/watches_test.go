package externalauthconfig

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/crossmcp/provider-mcp/apis/auth/v1alpha1"
	mcpv1alpha1 "github.com/crossmcp/provider-mcp/apis/v1alpha1"
)

// world is a cluster of configs and provider configs, for the map functions:
//
//	team-a/idp        client Secret idp-client, ClusterProviderConfig default
//	team-a/local      client Secret idp-client, ProviderConfig team-a/local (CA Secret team-a/ca)
//	team-a/private    client Secret other, ClusterProviderConfig private (CA Secret crossplane-system/idp-ca)
//	team-a/self-ca    client Secret ca, ProviderConfig team-a/local: both ways
//	team-b/local      client Secret idp-client, ProviderConfig team-b/local (CA ConfigMap team-b/ca)
//	team-b/private    client Secret idp-client, ClusterProviderConfig private
func world(t *testing.T) client.Client {
	t.Helper()
	cfg := func(namespace, name, kind, pc, secret string) *v1alpha1.ExternalAuthConfig {
		return eac(func(mg *v1alpha1.ExternalAuthConfig) {
			mg.Namespace, mg.Name = namespace, name
			mg.Spec.ProviderConfigReference = &xpv2.ProviderConfigReference{Kind: kind, Name: pc}
			mg.Spec.ForProvider.TokenExchange.ClientSecretRef = &v1alpha1.SecretKeyRef{Name: secret, Key: "secret"}
		})
	}
	pcKind, cpcKind := mcpv1alpha1.ProviderConfigKind, mcpv1alpha1.ClusterProviderConfigKind
	return fake.NewClientBuilder().WithScheme(scheme(t)).
		WithObjects(
			cfg("team-a", "idp", cpcKind, "default", "idp-client"),
			cfg("team-a", "local", pcKind, "local", "idp-client"),
			cfg("team-a", "private", cpcKind, "private", "other"),
			cfg("team-a", "self-ca", pcKind, "local", "ca"),
			cfg("team-b", "local", pcKind, "local", "idp-client"),
			cfg("team-b", "private", cpcKind, "private", "idp-client"),
			&mcpv1alpha1.ProviderConfig{
				ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "local"},
				Spec:       mcpv1alpha1.ProviderConfigSpec{CABundle: &mcpv1alpha1.LocalCABundleSource{SecretRef: &mcpv1alpha1.LocalKeyReference{Name: "ca", Key: "ca.crt"}}},
			},
			&mcpv1alpha1.ProviderConfig{
				ObjectMeta: metav1.ObjectMeta{Namespace: "team-b", Name: "local"},
				Spec:       mcpv1alpha1.ProviderConfigSpec{CABundle: &mcpv1alpha1.LocalCABundleSource{ConfigMapRef: &mcpv1alpha1.LocalKeyReference{Name: "ca", Key: "ca.crt"}}},
			},
			&mcpv1alpha1.ClusterProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: "default"}},
			&mcpv1alpha1.ClusterProviderConfig{
				ObjectMeta: metav1.ObjectMeta{Name: "private"},
				Spec: mcpv1alpha1.ClusterProviderConfigSpec{CABundle: &mcpv1alpha1.CABundleSource{SecretRef: &mcpv1alpha1.KeyReference{
					LocalKeyReference: mcpv1alpha1.LocalKeyReference{Name: "idp-ca", Key: "ca.crt"}, Namespace: "crossplane-system",
				}}},
			},
		).
		WithIndex(&v1alpha1.ExternalAuthConfig{}, secretRefIndex, indexSecretRefs).
		WithIndex(&v1alpha1.ExternalAuthConfig{}, providerConfigIndex, indexProviderConfig).
		WithIndex(&mcpv1alpha1.ProviderConfig{}, caSecretIndex, indexCASecret).
		WithIndex(&mcpv1alpha1.ClusterProviderConfig{}, caSecretIndex, indexCASecret).
		Build()
}

func reqs(nns ...string) []reconcile.Request {
	var out []reconcile.Request
	for _, nn := range nns {
		ns, name, _ := strings.Cut(nn, "/")
		out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: ns, Name: name}})
	}
	return out
}

var sortRequests = cmpopts.SortSlices(func(a, b reconcile.Request) bool { return a.String() < b.String() })

func TestConfigsForSecret(t *testing.T) {
	c := world(t)
	type args struct {
		secret types.NamespacedName
	}
	cases := map[string]struct {
		reason string
		args   args
		want   []reconcile.Request
	}{
		"ClientSecret": {
			reason: "A client Secret reaches the configs of its namespace that reference it, whatever their provider config.",
			args:   args{secret: types.NamespacedName{Namespace: "team-a", Name: "idp-client"}},
			want:   reqs("team-a/idp", "team-a/local"),
		},
		"ProviderConfigCABundle": {
			reason: "A ProviderConfig's CA bundle Secret reaches the configs using it, once each, and not those of a ProviderConfig of the same name elsewhere.",
			args:   args{secret: types.NamespacedName{Namespace: "team-a", Name: "ca"}},
			want:   reqs("team-a/local", "team-a/self-ca"),
		},
		"ClusterProviderConfigCABundle": {
			reason: "A ClusterProviderConfig's CA bundle Secret reaches its configs in every namespace.",
			args:   args{secret: types.NamespacedName{Namespace: "crossplane-system", Name: "idp-ca"}},
			want:   reqs("team-a/private", "team-b/private"),
		},
		"CABundleNameElsewhere": {
			reason: "A Secret named like a CA bundle Secret in another namespace reaches nothing.",
			args:   args{secret: types.NamespacedName{Namespace: "team-b", Name: "idp-ca"}},
		},
		"ConfigMapCABundleName": {
			reason: "A Secret named like a ProviderConfig's CA bundle ConfigMap reaches nothing.",
			args:   args{secret: types.NamespacedName{Namespace: "team-b", Name: "ca"}},
		},
		"Unrelated": {
			reason: "A Secret nothing uses reaches nothing.",
			args:   args{secret: types.NamespacedName{Namespace: "team-a", Name: "unrelated"}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: tc.args.secret.Namespace, Name: tc.args.secret.Name}}
			got := configsForSecret(c)(context.Background(), s)
			if diff := cmp.Diff(tc.want, got, sortRequests, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("\n%s\nconfigsForSecret(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestConfigsForProviderConfig(t *testing.T) {
	c := world(t)
	type args struct {
		fn handler.MapFunc
		pc client.Object
	}
	cases := map[string]struct {
		reason string
		args   args
		want   []reconcile.Request
	}{
		"ProviderConfig": {
			reason: "A ProviderConfig reaches the configs of its namespace that use it.",
			args:   args{fn: configsForProviderConfig(c), pc: &mcpv1alpha1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "local"}}},
			want:   reqs("team-a/local", "team-a/self-ca"),
		},
		"ProviderConfigOtherNamespace": {
			reason: "A ProviderConfig of the same name in another namespace reaches only its own namespace's configs.",
			args:   args{fn: configsForProviderConfig(c), pc: &mcpv1alpha1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Namespace: "team-b", Name: "local"}}},
			want:   reqs("team-b/local"),
		},
		"ProviderConfigUnused": {
			reason: "A ProviderConfig named like a ClusterProviderConfig does not reach the latter's configs.",
			args:   args{fn: configsForProviderConfig(c), pc: &mcpv1alpha1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "private"}}},
		},
		"ClusterProviderConfig": {
			reason: "A ClusterProviderConfig reaches its configs in every namespace.",
			args:   args{fn: configsForClusterProviderConfig(c), pc: &mcpv1alpha1.ClusterProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: "private"}}},
			want:   reqs("team-a/private", "team-b/private"),
		},
		"ClusterProviderConfigUnused": {
			reason: "A ClusterProviderConfig named like ProviderConfigs does not reach their configs.",
			args:   args{fn: configsForClusterProviderConfig(c), pc: &mcpv1alpha1.ClusterProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: "local"}}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := tc.args.fn(context.Background(), tc.args.pc)
			if diff := cmp.Diff(tc.want, got, sortRequests, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("\n%s\nmap function: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestProviderConfigUsers(t *testing.T) {
	u := ProviderConfigUsers{Reader: world(t)}
	type args struct{ kind, namespace, name string }
	cases := map[string]struct {
		reason string
		args   args
		want   int64
	}{
		"ProviderConfig": {
			reason: "A ProviderConfig's users are the configs of its namespace that name it.",
			args:   args{kind: mcpv1alpha1.ProviderConfigKind, namespace: "team-a", name: "local"},
			want:   2,
		},
		"ProviderConfigOtherNamespace": {
			reason: "Configs naming a ProviderConfig of the same name elsewhere do not count.",
			args:   args{kind: mcpv1alpha1.ProviderConfigKind, namespace: "team-b", name: "local"},
			want:   1,
		},
		"ProviderConfigUnused": {
			reason: "Configs naming a ClusterProviderConfig of the same name do not count.",
			args:   args{kind: mcpv1alpha1.ProviderConfigKind, namespace: "team-a", name: "private"},
		},
		"ClusterProviderConfig": {
			reason: "A ClusterProviderConfig's users are in every namespace.",
			args:   args{kind: mcpv1alpha1.ClusterProviderConfigKind, name: "private"},
			want:   2,
		},
		"ClusterProviderConfigUnused": {
			reason: "Configs naming ProviderConfigs of the same name do not count.",
			args:   args{kind: mcpv1alpha1.ClusterProviderConfigKind, name: "local"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := u.Count(context.Background(), tc.args.kind, tc.args.namespace, tc.args.name)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("\n%s\nCount(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}

	// Without the index the count fails and says so.
	bare := ProviderConfigUsers{Reader: fake.NewClientBuilder().WithScheme(scheme(t)).Build()}
	if _, err := bare.Count(context.Background(), mcpv1alpha1.ProviderConfigKind, "team-a", "local"); err == nil || !strings.Contains(err.Error(), errListForPC) {
		t.Errorf("Count(...) without its index: want an error containing %q, got %v", errListForPC, err)
	}
}

func TestIndexes(t *testing.T) {
	cases := map[string]struct {
		reason string
		index  client.IndexerFunc
		o      client.Object
		want   []string
	}{
		"SecretRefs": {
			reason: "A config is indexed by the Secrets it references.",
			index:  indexSecretRefs,
			o:      eac(),
			want:   []string{"idp-client"},
		},
		"SecretRefsNotAConfig": {
			reason: "Anything else is not indexed.",
			index:  indexSecretRefs,
			o:      &corev1.Secret{},
		},
		"ProviderConfig": {
			reason: "A config is indexed by its provider config's kind and name.",
			index:  indexProviderConfig,
			o:      eac(),
			want:   []string{"ClusterProviderConfig/default"},
		},
		"NoProviderConfig": {
			reason: "A config without a provider config reference is not indexed.",
			index:  indexProviderConfig,
			o:      eac(func(mg *v1alpha1.ExternalAuthConfig) { mg.Spec.ProviderConfigReference = nil }),
		},
		"ProviderConfigNotAConfig": {
			reason: "Anything else is not indexed.",
			index:  indexProviderConfig,
			o:      &corev1.Secret{},
		},
		"LocalCASecret": {
			reason: "A ProviderConfig is indexed by its CA bundle Secret's name.",
			index:  indexCASecret,
			o: &mcpv1alpha1.ProviderConfig{Spec: mcpv1alpha1.ProviderConfigSpec{
				CABundle: &mcpv1alpha1.LocalCABundleSource{SecretRef: &mcpv1alpha1.LocalKeyReference{Name: "ca", Key: "ca.crt"}},
			}},
			want: []string{"ca"},
		},
		"LocalCAConfigMap": {
			reason: "A ProviderConfig whose CA bundle is in a ConfigMap is not indexed.",
			index:  indexCASecret,
			o: &mcpv1alpha1.ProviderConfig{Spec: mcpv1alpha1.ProviderConfigSpec{
				CABundle: &mcpv1alpha1.LocalCABundleSource{ConfigMapRef: &mcpv1alpha1.LocalKeyReference{Name: "ca", Key: "ca.crt"}},
			}},
		},
		"ClusterCASecret": {
			reason: "A ClusterProviderConfig is indexed by its CA bundle Secret's namespace and name.",
			index:  indexCASecret,
			o: &mcpv1alpha1.ClusterProviderConfig{Spec: mcpv1alpha1.ClusterProviderConfigSpec{
				CABundle: &mcpv1alpha1.CABundleSource{SecretRef: &mcpv1alpha1.KeyReference{LocalKeyReference: mcpv1alpha1.LocalKeyReference{Name: "idp-ca", Key: "ca.crt"}, Namespace: "crossplane-system"}},
			}},
			want: []string{"crossplane-system/idp-ca"},
		},
		"ClusterNoCA": {
			reason: "A ClusterProviderConfig without a CA bundle is not indexed.",
			index:  indexCASecret,
			o:      &mcpv1alpha1.ClusterProviderConfig{},
		},
		"CANotAProviderConfig": {
			reason: "Anything else is not indexed.",
			index:  indexCASecret,
			o:      eac(),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.index(tc.o), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("\n%s\nindex: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}
