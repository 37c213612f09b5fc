//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crossmcp/provider-mcp/test/wait"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	pkgv1 "github.com/crossplane/crossplane/apis/v2/pkg/v1"

	authv1alpha1 "github.com/crossmcp/provider-mcp/apis/auth/v1alpha1"
)

// testPackagesHealthy: the three packages, the provider and function
// resolved as the configuration's dependencies from the local registry.
func testPackagesHealthy(t *testing.T) {
	ctx := context.Background()
	for _, o := range []pkgv1.Package{
		&pkgv1.Configuration{}, &pkgv1.Provider{}, &pkgv1.Function{},
	} {
		name := map[string]string{"*v1.Configuration": "configuration-mcp", "*v1.Provider": "crossmcp-provider-mcp", "*v1.Function": "crossmcp-function-mcp-server"}[fmt.Sprintf("%T", o)]
		if err := kube.Get(ctx, client.ObjectKey{Name: name}, o); err != nil {
			t.Fatalf("package %s: %v", name, err)
		}
		for _, ct := range []xpv2.ConditionType{pkgv1.TypeInstalled, pkgv1.TypeHealthy} {
			if c := o.GetCondition(ct); c.Status != corev1.ConditionTrue {
				t.Errorf("package %s is not %s: %s", name, ct, c.Message)
			}
		}
		if !strings.HasPrefix(o.GetSource(), "xpkg.crossplane.io/crossmcp/") {
			t.Errorf("package %s has source %q, want the published name", name, o.GetSource())
		}
	}
}

// composedKinds are what the quick start's MCPServer composes, the
// StatefulSet the proxy runner created included: the XR adopts it.
var composedKinds = []string{"Deployment/fetch", "Usage/fetch-external-auth", "RoleBinding/fetch-mcp-proxy-runner",
	"ConfigMap/fetch-runconfig", "ServiceAccount/fetch-proxy-runner", "ServiceAccount/fetch-sa", "Service/mcp-fetch-proxy", "StatefulSet/fetch"}

// testQuickStart applies the README's example the way make run does and
// checks it end to end.
func testQuickStart(t *testing.T) {
	ctx := context.Background()
	if out, err := local("apply"); err != nil {
		t.Fatalf("local apply: %v\n%s", err, out)
	}

	xr := get(t, "platform.crossmcp.io/v1alpha1", "MCPServer", "demo", "fetch")
	if url, _, _ := unstructured.NestedString(xr.Object, "status", "url"); url != "http://mcp-fetch-proxy.demo.svc.cluster.local:8080" {
		t.Errorf("status.url = %q", url)
	}
	cfg := &authv1alpha1.ExternalAuthConfig{}
	if err := kube.Get(ctx, client.ObjectKey{Namespace: "demo", Name: "backend-api"}, cfg); err != nil {
		t.Fatal(err)
	}
	if v := cfg.Status.AtProvider.Verification; v == nil || v.Outcome != authv1alpha1.VerificationSucceeded {
		t.Errorf("the real authorization server did not verify the config: %+v", v)
	}
	if u := cfg.Status.AtProvider.UsedBy; len(u) != 1 || u[0].Kind != "Deployment" || u[0].Name != "fetch" || u[0].Usage != "fetch-external-auth" {
		t.Errorf("the config's status.atProvider.usedBy = %+v, want the Deployment fetch through Usage fetch-external-auth", u)
	}
	hash, _, _ := unstructured.NestedString(xr.Object, "status", "externalAuthConfigHash")
	if hash == "" || hash != cfg.Status.AtProvider.ConfigHash {
		t.Errorf("XR externalAuthConfigHash %q, config hash %q", hash, cfg.Status.AtProvider.ConfigHash)
	}
	for _, c := range []string{"ExternalAuthReady", "TokenExchangeActive", "Ready", "Synced"} {
		if got := condition(xr, c); got.Status != corev1.ConditionTrue {
			t.Errorf("MCPServer condition %s is %s (%s): %s", c, got.Status, got.Reason, got.Message)
		}
	}

	refs, _, _ := unstructured.NestedSlice(xr.Object, "spec", "crossplane", "resourceRefs")
	var got []string
	for _, r := range refs {
		m := r.(map[string]any)
		got = append(got, fmt.Sprintf("%s/%s", m["kind"], m["name"]))
	}
	for _, want := range composedKinds {
		if !contains(got, want) {
			t.Errorf("the MCPServer did not compose %s (composed %v)", want, got)
		}
	}

	d := &appsv1.Deployment{}
	if err := kube.Get(ctx, client.ObjectKey{Namespace: "demo", Name: "fetch"}, d); err != nil {
		t.Fatal(err)
	}
	if !deploymentAvailable(d) || d.Status.AvailableReplicas != 1 {
		t.Errorf("Deployment fetch is not Available: %+v", d.Status)
	}
	if d.Spec.Template.Annotations["mcp.crossmcp.io/external-auth-config-hash"] != cfg.Status.AtProvider.ConfigHash {
		t.Errorf("the pod template does not carry the config hash")
	}

	out, err := crossplane("beta", "trace", "mcpserver", "fetch", "-n", "demo")
	if err != nil {
		t.Fatalf("crossplane beta trace: %v\n%s", err, out)
	}
	for _, want := range append([]string{"MCPServer/fetch"}, composedKinds...) {
		if !strings.Contains(out, want) {
			t.Errorf("crossplane beta trace does not show %s:\n%s", want, out)
		}
	}

	// The Usage is enforced by Crossplane's webhook, through the apiserver.
	out, err = kubectl("delete", "externalauthconfig", "backend-api", "-n", "demo", "--wait=false")
	if err == nil || !strings.Contains(out, "in-use") {
		t.Errorf("deleting a config in use: want a refusal naming the usage, got %v: %s", err, out)
	}
}

// testClaim: a legacy MCPServerClaim binds to an XMCPServer whose workload
// runs in the claim's namespace under the claim's name.
func testClaim(t *testing.T) {
	if out, err := kubectl("create", "namespace", "claims"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for _, f := range []string{"examples/complete/secret.yaml", "examples/complete/externalauthconfig.yaml", "examples/legacy-claim/claim.yaml"} {
		// The examples name other namespaces; put them in claims.
		b, err := kubectl("create", "--dry-run=client", "-o", "json", "-f", f)
		if err != nil {
			t.Fatalf("%v: %s", err, b)
		}
		u := &unstructured.Unstructured{}
		if err := json.Unmarshal([]byte(b), &u.Object); err != nil {
			t.Fatal(err)
		}
		u.SetNamespace("claims")
		if err := kube.Create(context.Background(), u); err != nil {
			t.Fatalf("cannot create %s: %v", f, err)
		}
	}
	wait.For(t, 3*time.Minute, "claim github Ready", func() string {
		claim := get(t, "platform.crossmcp.io/v1alpha1", "MCPServerClaim", "claims", "github")
		if c := condition(claim, "Ready"); c.Status != corev1.ConditionTrue {
			return fmt.Sprintf("Ready=%s %s %s", c.Status, c.Reason, c.Message)
		}
		if ref, _, _ := unstructured.NestedString(claim.Object, "spec", "resourceRef", "name"); ref == "" {
			return "the claim is not bound to an XMCPServer"
		}
		return ""
	})
	d := &appsv1.Deployment{}
	if err := kube.Get(context.Background(), client.ObjectKey{Namespace: "claims", Name: "github"}, d); err != nil {
		t.Fatalf("the claim's Deployment is not in its namespace under its name: %v", err)
	}
	if !deploymentAvailable(d) {
		t.Errorf("the claim's Deployment is not Available")
	}
}

// testDeleteXR: deleting the XR removes everything it composed (through
// the garbage collector), the MCP server's StatefulSet and the Services the
// runner hung off it included, and then the config it used can go.
func testDeleteXR(t *testing.T) {
	if out, err := kubectl("delete", "mcpserver", "fetch", "-n", "demo", "--wait=false"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	wait.For(t, 3*time.Minute, "composed objects gone", func() string {
		var left []string
		for _, k := range append(slices.Clone(composedKinds), "Service/mcp-fetch", "Service/mcp-fetch-headless") {
			kind, name, _ := strings.Cut(k, "/")
			gv := map[string]string{"Deployment": "apps/v1", "StatefulSet": "apps/v1", "Usage": "protection.crossplane.io/v1beta1", "RoleBinding": "rbac.authorization.k8s.io/v1", "Role": "rbac.authorization.k8s.io/v1"}[kind]
			if gv == "" {
				gv = "v1"
			}
			u := &unstructured.Unstructured{}
			u.SetAPIVersion(gv)
			u.SetKind(kind)
			err := kube.Get(context.Background(), client.ObjectKey{Namespace: "demo", Name: name}, u)
			if !kerrors.IsNotFound(err) {
				left = append(left, k)
			}
		}
		if len(left) > 0 {
			return fmt.Sprintf("still there: %v", left)
		}
		return ""
	})
	wait.For(t, 2*time.Minute, "config deletable once unused", func() string {
		out, err := kubectl("delete", "externalauthconfig", "backend-api", "-n", "demo", "--wait=false")
		if err != nil {
			return out
		}
		return ""
	})
}

func get(t *testing.T, apiVersion, kind, ns, name string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	if err := kube.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, u); err != nil {
		t.Fatalf("cannot get %s %s/%s: %v", kind, ns, name, err)
	}
	return u
}

func condition(u *unstructured.Unstructured, typ string) xpv2.Condition {
	raw, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	b, _ := json.Marshal(raw)
	var cs []xpv2.Condition
	_ = json.Unmarshal(b, &cs)
	for _, c := range cs {
		if string(c.Type) == typ {
			return c
		}
	}
	return xpv2.Condition{}
}

func deploymentAvailable(d *appsv1.Deployment) bool {
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentAvailable && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
