package render

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

// TestProxyRunnerClusterRole: the ClusterRole the platform installs is the
// one the rendered RoleBindings name, with exactly the runner's rules.
func TestProxyRunnerClusterRole(t *testing.T) {
	b, err := os.ReadFile("../../../cluster/rbac/aggregate-to-crossplane.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range strings.Split(string(b), "\n---\n") {
		cr := &rbacv1.ClusterRole{}
		if err := yaml.UnmarshalStrict([]byte(doc), cr); err != nil {
			t.Fatal(err)
		}
		if cr.Name != ProxyRunnerClusterRole {
			continue
		}
		if diff := cmp.Diff(ProxyRunnerRules(), cr.Rules); diff != "" {
			t.Errorf("ClusterRole %s: -render.ProxyRunnerRules, +the YAML:\n%s", cr.Name, diff)
		}
		return
	}
	t.Errorf("cluster/rbac/aggregate-to-crossplane.yaml has no ClusterRole %s", ProxyRunnerClusterRole)
}
