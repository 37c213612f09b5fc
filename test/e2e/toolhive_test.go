//go:build e2e

package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossmcp/provider-mcp/test/wait"
)

// toolhiveModule is the folder of the pinned ToolHive module (test/toolhive's).
func toolhiveModule(t *testing.T) string {
	t.Helper()
	cmd := exec.Command("go", "list", "-C", filepath.Join(root, "test", "toolhive"), "-m", "-f", "{{.Dir}}", "github.com/stacklok/toolhive")
	cmd.Env = append(os.Environ(), "GOWORK=off") // test/toolhive is outside go.work
	dir, err := cmd.Output()
	if err != nil {
		t.Fatalf("cannot find the ToolHive module: %v", err)
	}
	return strings.TrimSpace(string(dir))
}

// testToolHiveCoexistence installs ToolHive's own CRDs (from the pinned
// module) beside ours, as on a cluster moving over from ToolHive's
// operator. Our short names must still mean ours, and an MCPServer of ours
// named like a ToolHive MCPServer in the same namespace, whose operator
// renders the same object names, must be refused with a message naming it,
// leaving ToolHive's objects as they were.
func testToolHiveCoexistence(t *testing.T) {
	crds := filepath.Join(toolhiveModule(t), "deploy", "charts", "operator-crds", "files", "crds")
	for _, f := range []string{"toolhive.stacklok.dev_mcpservers.yaml", "toolhive.stacklok.dev_mcpexternalauthconfigs.yaml"} {
		if out, err := kubectl("apply", "--server-side", "-f", filepath.Join(crds, f)); err != nil {
			t.Fatalf("cannot install ToolHive's CRD %s: %v\n%s", f, err, out)
		}
	}
	if out, err := kubectl("wait", "--for=condition=Established", "--timeout=60s", "crd/mcpservers.toolhive.stacklok.dev", "crd/mcpexternalauthconfigs.toolhive.stacklok.dev"); err != nil {
		t.Fatalf("ToolHive's CRDs are not established: %v\n%s", err, out)
	}

	t.Run("ShortNames", func(t *testing.T) {
		for name, group := range map[string]string{"eac": "auth.mcp.crossmcp.io", "cmcpauth": "auth.mcp.crossmcp.io", "cmcp": "platform.crossmcp.io", "extauth": "toolhive.stacklok.dev"} {
			wait.For(t, 30*time.Second, "kubectl explain "+name, func() string {
				out, err := kubectl("explain", name)
				if err != nil {
					return err.Error() + ": " + out
				}
				if !strings.Contains(out, "GROUP:      "+group) && !strings.Contains(out, "GROUP: "+group) {
					return "kubectl explain " + name + " does not show group " + group + ":\n" + out
				}
				return ""
			})
		}
	})

	t.Run("SameNameRefused", func(t *testing.T) {
		ns := newNamespace(t, "coexist")
		th := &unstructured.Unstructured{}
		th.SetAPIVersion("toolhive.stacklok.dev/v1beta1")
		th.SetKind("MCPServer")
		th.SetNamespace(ns)
		th.SetName("fetch")
		_ = unstructured.SetNestedField(th.Object, "ghcr.io/stackloklabs/gofetch/server:latest", "spec", "image")
		mustCreate(t, th)
		// What ToolHive's operator makes for it (it does not run here):
		// the proxy runner's Deployment, named after the MCPServer.
		labels := map[string]string{"app": "mcpserver", "toolhive-name": "fetch"}
		theirs := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{
				Namespace: ns, Name: "fetch", Labels: labels,
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "toolhive.stacklok.dev/v1beta1", Kind: "MCPServer", Name: "fetch", UID: th.GetUID(), Controller: ptr.To(true)}},
			},
			Spec: appsv1.DeploymentSpec{
				Replicas: ptr.To[int32](0),
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "toolhive", Image: "ghcr.io/stacklok/toolhive/proxyrunner:v0.48.0"}}},
				},
			},
		}
		mustCreate(t, theirs)
		before := deployment(t, ns, "fetch")

		mustCreate(t, mcpServerXR(t, ns, "fetch", "backend-api"))
		want := `Deployment coexist/fetch belongs to ToolHive's MCPServer "fetch"`
		wait.For(t, 2*time.Minute, "the MCPServer refused", func() string {
			c := condition(get(t, "platform.crossmcp.io/v1alpha1", "MCPServer", ns, "fetch"), "Synced")
			if c.Status != corev1.ConditionFalse || !strings.Contains(c.Message, want) {
				return "Synced=" + string(c.Status) + ": " + c.Message
			}
			return ""
		})
		// Its status is kube-controller-manager's; what it is and who owns
		// it must not change.
		after := deployment(t, ns, "fetch")
		if !equality.Semantic.DeepEqual(before.Spec, after.Spec) || !equality.Semantic.DeepEqual(before.OwnerReferences, after.OwnerReferences) || !equality.Semantic.DeepEqual(before.Labels, after.Labels) {
			t.Errorf("ToolHive's Deployment changed: spec, owners or labels differ; owners now %+v", after.OwnerReferences)
		}
		for _, o := range []struct{ apiVersion, kind, name string }{{"v1", "ConfigMap", "fetch-runconfig"}, {"v1", "Service", "mcp-fetch-proxy"}, {"v1", "ServiceAccount", "fetch-proxy-runner"}} {
			u := &unstructured.Unstructured{}
			u.SetAPIVersion(o.apiVersion)
			u.SetKind(o.kind)
			if err := kube.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: o.name}, u); err == nil {
				t.Errorf("%s %s was composed although the MCPServer was refused", o.kind, o.name)
			}
		}

		// Cleaned up, so the final checks see a settled cluster.
		for _, o := range []client.Object{get(t, "platform.crossmcp.io/v1alpha1", "MCPServer", ns, "fetch"), th, theirs} {
			if err := kube.Delete(context.Background(), o); err != nil {
				t.Errorf("cannot delete %s: %v", o.GetName(), err)
			}
		}
	})
}
