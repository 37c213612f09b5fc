//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crossmcp/provider-mcp/test/wait"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// uptestManifests are the examples uptest runs: the ExternalAuthConfig MR
// and an MCPServer with a shared config (examples/complete), one with an
// inline config, and a legacy claim. The MCPServers come before the configs
// they use: uptest deletes in this order, and a config in use cannot go.
var uptestManifests = []string{
	"examples/complete/secret.yaml", "examples/complete/xr.yaml", "examples/complete/externalauthconfig.yaml",
	"examples/mcpserver-inline/secret.yaml", "examples/mcpserver-inline/xr.yaml",
	"examples/legacy-claim/secret.yaml", "examples/legacy-claim/claim.yaml", "examples/legacy-claim/externalauthconfig.yaml",
}

// testUptest runs uptest v1.3.0 (with chainsaw v0.2.14) over the examples:
// each must reach Ready=True, and their deletion must leave nothing behind.
func testUptest(t *testing.T) {
	out, err := runIn(root, []string{
		"KUBECONFIG=" + filepath.Join(state, "kubeconfig"),
		"CHAINSAW=" + filepath.Join(tools(), "chainsaw"),
		"KUBECTL=" + filepath.Join(tools(), "kubectl"),
		"CROSSPLANE_CLI=" + filepath.Join(tools(), "crossplane"),
		"CROSSPLANE_NAMESPACE=crossplane-system",
	}, filepath.Join(tools(), "uptest"), "e2e", strings.Join(uptestManifests, ","),
		"--setup-script=test/e2e/uptest-setup.sh", "--default-timeout=600s", "--skip-import",
		"--test-directory="+t.TempDir())
	t.Cleanup(func() {
		// chainsaw leaves a namespace per test.
		ns := &corev1.NamespaceList{}
		_ = kube.List(context.Background(), ns)
		for i := range ns.Items {
			if strings.HasPrefix(ns.Items[i].Name, "chainsaw-") {
				_ = kube.Delete(context.Background(), &ns.Items[i])
			}
		}
	})
	if err != nil {
		t.Fatalf("uptest: %v\n%s", err, out)
	}
	// uptest runs chainsaw tests it generates: apply (with the Ready
	// assertions) and delete (with the deletion assertions).
	for _, step := range []string{"--- PASS: chainsaw/apply", "--- PASS: chainsaw/delete"} {
		if !strings.Contains(out, step) {
			t.Errorf("uptest did not report %q:\n%s", step, out)
		}
	}
	t.Logf("uptest passed:\n%s", tail(out, 15))

	// Nothing left behind: composed objects, connection secrets, usages.
	wait.For(t, 2*time.Minute, "nothing left behind", func() string {
		var left []string
		for _, ns := range []string{"demo", "team-a", "team-b"} {
			for _, k := range []struct{ apiVersion, kind string }{
				{"apps/v1", "Deployment"}, {"protection.crossplane.io/v1beta1", "Usage"},
				{"auth.mcp.crossmcp.io/v1alpha1", "ExternalAuthConfig"}, {"platform.crossmcp.io/v1alpha1", "MCPServer"},
				{"platform.crossmcp.io/v1alpha1", "MCPServerClaim"}, {"v1", "Service"}, {"apps/v1", "StatefulSet"},
			} {
				l := &unstructured.UnstructuredList{}
				l.SetAPIVersion(k.apiVersion)
				l.SetKind(k.kind + "List")
				if err := kube.List(context.Background(), l, client.InNamespace(ns)); err != nil {
					return err.Error()
				}
				for _, o := range l.Items {
					left = append(left, fmt.Sprintf("%s %s/%s", k.kind, ns, o.GetName()))
				}
			}
			sl := &corev1.SecretList{}
			if err := kube.List(context.Background(), sl, client.InNamespace(ns)); err != nil {
				return err.Error()
			}
			for _, s := range sl.Items {
				if s.Type == "connection.crossplane.io/v1alpha1" {
					left = append(left, "connection Secret "+ns+"/"+s.Name)
				}
			}
		}
		xl := &unstructured.UnstructuredList{}
		xl.SetAPIVersion("platform.crossmcp.io/v1alpha1")
		xl.SetKind("XMCPServerList")
		if err := kube.List(context.Background(), xl); err == nil {
			for _, o := range xl.Items {
				// Only the claims uptest ran; testClaim's stays.
				if ns, _, _ := unstructured.NestedString(o.Object, "spec", "claimRef", "namespace"); ns == "team-b" {
					left = append(left, "XMCPServer "+o.GetName())
				}
			}
		}
		if len(left) > 0 {
			return fmt.Sprintf("left behind: %v", left)
		}
		return ""
	})
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
