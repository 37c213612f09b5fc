package pkgruntime

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	pkgv1 "github.com/crossplane/crossplane/apis/v2/pkg/v1"
	pkgv1beta1 "github.com/crossplane/crossplane/apis/v2/pkg/v1beta1"

	"github.com/crossmcp/provider-mcp/cluster/local/kclient"
)

func revision(name, source, resolved, runtimeConfig string) *pkgv1.ProviderRevision {
	pr := &pkgv1.ProviderRevision{ObjectMeta: metav1.ObjectMeta{Name: name, UID: "rev-uid"}}
	pr.Spec.Package = source
	pr.Status.ResolvedPackage = resolved
	if runtimeConfig != "" {
		pr.Spec.RuntimeConfigReference = &pkgv1.RuntimeConfigReference{Name: runtimeConfig}
	}
	return pr
}

func runtimeConfig(name, sa, deployment, podSA string) *pkgv1beta1.DeploymentRuntimeConfig {
	drc := &pkgv1beta1.DeploymentRuntimeConfig{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if sa != "" {
		drc.Spec.ServiceAccountTemplate = &pkgv1beta1.ServiceAccountTemplate{Metadata: &pkgv1beta1.ObjectMeta{Name: ptr.To(sa)}}
	}
	if deployment != "" || podSA != "" {
		t := &pkgv1beta1.DeploymentTemplate{Spec: &appsv1.DeploymentSpec{}}
		if deployment != "" {
			t.Metadata = &pkgv1beta1.ObjectMeta{Name: ptr.To(deployment)}
		}
		t.Spec.Template.Spec.ServiceAccountName = podSA
		drc.Spec.DeploymentTemplate = t
	}
	return drc
}

func imageConfig(name, prefix, runtimeConfig string) *pkgv1beta1.ImageConfig {
	return &pkgv1beta1.ImageConfig{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: pkgv1beta1.ImageConfigSpec{
			MatchImages: []pkgv1beta1.ImageMatch{{Prefix: prefix}},
			Runtime:     &pkgv1beta1.ImageRuntime{ConfigReference: &pkgv1beta1.RuntimeConfigReference{Name: runtimeConfig}},
		},
	}
}

func TestNames(t *testing.T) {
	type want struct {
		sa, deployment string
		ownSA          bool
		err            bool
	}
	cases := map[string]struct {
		reason  string
		rev     *pkgv1.ProviderRevision
		objects []client.Object
		want    want
	}{
		"Default": {
			reason:  "Without a runtime config of its own a revision's ServiceAccount and Deployment take its name.",
			rev:     revision("provider-mcp-abc", "xpkg.example/provider-mcp:v1", "xpkg.example/provider-mcp:v1", ""),
			objects: []client.Object{runtimeConfig("default", "", "", "")},
			want:    want{sa: "provider-mcp-abc", deployment: "provider-mcp-abc", ownSA: true},
		},
		"NamedByTemplates": {
			reason:  "The revision's runtime config names the ServiceAccount and the Deployment.",
			rev:     revision("provider-mcp-abc", "xpkg.example/provider-mcp:v1", "xpkg.example/provider-mcp:v1", "custom"),
			objects: []client.Object{runtimeConfig("default", "", "", ""), runtimeConfig("custom", "mcp-sa", "mcp-deploy", "")},
			want:    want{sa: "mcp-sa", deployment: "mcp-deploy", ownSA: true},
		},
		"ExistingServiceAccount": {
			reason:  "A pod ServiceAccount the runtime config names is an existing one the runtime leaves alone.",
			rev:     revision("provider-mcp-abc", "xpkg.example/provider-mcp:v1", "xpkg.example/provider-mcp:v1", "custom"),
			objects: []client.Object{runtimeConfig("custom", "", "", "platform-sa")},
			want:    want{sa: "platform-sa", deployment: "provider-mcp-abc", ownSA: false},
		},
		"LongestImageConfigPrefix": {
			reason: "The ImageConfig with the longest matching prefix picks the runtime config, also by the published name.",
			rev:    revision("provider-mcp-abc", "xpkg.example/org/provider-mcp:v1", "127.0.0.1:5000/org/provider-mcp:v1", "default"),
			objects: []client.Object{
				runtimeConfig("default", "", "", ""), runtimeConfig("short", "short-sa", "", ""), runtimeConfig("long", "long-sa", "", ""),
				imageConfig("short", "xpkg.example/", "short"), imageConfig("long", "xpkg.example/org/", "long"),
				imageConfig("other", "other.example/org/provider-mcp", "default"),
			},
			want: want{sa: "long-sa", deployment: "provider-mcp-abc", ownSA: true},
		},
		"MissingRuntimeConfig": {
			reason: "A runtime config that does not exist is an error, not a guess.",
			rev:    revision("provider-mcp-abc", "xpkg.example/provider-mcp:v1", "xpkg.example/provider-mcp:v1", "gone"),
			want:   want{err: true},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := &Runtime{Kube: fake.NewClientBuilder().WithScheme(kclient.Scheme()).WithObjects(tc.objects...).Build(), Namespace: "crossplane-system"}
			sa, deployment, ownSA, err := r.names(context.Background(), tc.rev)
			got := want{sa: sa, deployment: deployment, ownSA: ownSA, err: err != nil}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("%s\nnames(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

// TestServiceAccountDemotes: the active revision takes control of an
// existing ServiceAccount and an earlier controller stays an owner only.
func TestServiceAccountDemotes(t *testing.T) {
	old := metav1.OwnerReference{APIVersion: "pkg.crossplane.io/v1", Kind: "ProviderRevision", Name: "old", UID: "old-uid", Controller: ptr.To(true)}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "provider-mcp", Namespace: "crossplane-system", OwnerReferences: []metav1.OwnerReference{old}}}
	kube := fake.NewClientBuilder().WithScheme(kclient.Scheme()).WithObjects(sa).Build()
	r := &Runtime{Kube: kube, Namespace: "crossplane-system"}
	owner := metav1.OwnerReference{APIVersion: "pkg.crossplane.io/v1", Kind: "ProviderRevision", Name: "new", UID: "new-uid", Controller: ptr.To(true)}
	if err := r.serviceAccount(context.Background(), "provider-mcp", owner); err != nil {
		t.Fatal(err)
	}
	got := &corev1.ServiceAccount{}
	if err := kube.Get(context.Background(), client.ObjectKeyFromObject(sa), got); err != nil {
		t.Fatal(err)
	}
	demoted := old
	demoted.Controller = ptr.To(false)
	if diff := cmp.Diff([]metav1.OwnerReference{owner, demoted}, got.OwnerReferences); diff != "" {
		t.Errorf("owner references: -want, +got:\n%s", diff)
	}
}
