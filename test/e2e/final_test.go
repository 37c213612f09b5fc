//go:build e2e

package e2e

// The final checks: they run last (suite, in main_test.go) and look at
// everything the other tests left behind.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/crossmcp/provider-mcp/test/wait"
)

// watched are the kinds the steady-state check and the hygiene scan read:
// what the function composes, the MRs, the XRs and claims.
var watched = []struct{ apiVersion, kind string }{
	{"apps/v1", "Deployment"}, {"v1", "ConfigMap"}, {"v1", "Service"}, {"v1", "ServiceAccount"},
	{"rbac.authorization.k8s.io/v1", "Role"}, {"rbac.authorization.k8s.io/v1", "RoleBinding"},
	{"protection.crossplane.io/v1beta1", "Usage"}, {"auth.mcp.crossmcp.io/v1alpha1", "ExternalAuthConfig"},
	{"platform.crossmcp.io/v1alpha1", "MCPServer"}, {"platform.crossmcp.io/v1alpha1", "XMCPServer"},
	{"platform.crossmcp.io/v1alpha1", "MCPServerClaim"},
}

func listAll(t *testing.T, apiVersion, kind string) []unstructured.Unstructured {
	t.Helper()
	l := &unstructured.UnstructuredList{}
	l.SetAPIVersion(apiVersion)
	l.SetKind(kind + "List")
	if err := kube.List(context.Background(), l); err != nil {
		t.Fatalf("cannot list %s: %v", kind, err)
	}
	var out []unstructured.Unstructured
	for _, o := range l.Items {
		if !strings.HasPrefix(o.GetNamespace(), "kube-") {
			out = append(out, o)
		}
	}
	return out
}

// testSteadyState: over two poll intervals with nothing changing, nothing
// the controllers own is written: every resourceVersion stays. Write
// requests seen by the apiserver's audit log are reported too.
func testSteadyState(t *testing.T) {
	poll, err := time.ParseDuration(os.Getenv("LOCAL_POLL"))
	if err != nil {
		t.Fatalf("LOCAL_POLL: %v", err)
	}
	wait.For(t, 3*time.Minute, "the other tests' changes settled", settled(t))
	snapshot := func() map[string]string {
		m := map[string]string{}
		for _, w := range watched {
			for _, o := range listAll(t, w.apiVersion, w.kind) {
				m[fmt.Sprintf("%s %s/%s", w.kind, o.GetNamespace(), o.GetName())] = o.GetResourceVersion()
			}
		}
		return m
	}
	audit := filepath.Join(state, "logs", "audit.log")
	fi, err := os.Stat(audit)
	if err != nil {
		t.Fatal(err)
	}
	offset := fi.Size()
	before := snapshot()
	time.Sleep(2*poll + 5*time.Second)
	after := snapshot()
	for k, rv := range before {
		if after[k] != rv {
			t.Errorf("%s was written in steady state (resourceVersion %s -> %s)", k, rv, after[k])
		}
	}
	t.Logf("%d objects unchanged over %s", len(before), 2*poll+5*time.Second)

	f, err := os.Open(audit)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Seek(offset, 0); err != nil {
		t.Fatal(err)
	}
	requests := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var ev struct {
			Verb      string `json:"verb"`
			ObjectRef struct {
				Resource, Namespace, Subresource string
			} `json:"objectRef"`
		}
		if json.Unmarshal(sc.Bytes(), &ev) != nil || ev.Verb == "" {
			continue
		}
		switch ev.ObjectRef.Resource {
		case "deployments", "configmaps", "services", "serviceaccounts", "roles", "rolebindings", "usages",
			"externalauthconfigs", "mcpservers", "xmcpservers", "mcpserverclaims", "secrets":
			requests[ev.Verb+" "+ev.ObjectRef.Resource+"/"+ev.ObjectRef.Subresource]++
		}
	}
	t.Logf("write requests to watched kinds in the window (no-op updates included): %v", requests)
}

// settled says what still moves after the other tests: a namespace or a
// watched object being deleted, a Deployment rolling out, or a condition
// that has not seen its object's latest generation. Until all is still, a
// change is the tests' aftermath, not a steady-state write.
func settled(t *testing.T) func() string {
	return func() string {
		for _, n := range listAll(t, "v1", "Namespace") {
			if n.GetDeletionTimestamp() != nil {
				return "namespace " + n.GetName() + " is being deleted"
			}
		}
		for _, w := range watched {
			for _, o := range listAll(t, w.apiVersion, w.kind) {
				id := fmt.Sprintf("%s %s/%s", w.kind, o.GetNamespace(), o.GetName())
				if o.GetDeletionTimestamp() != nil {
					return id + " is being deleted"
				}
				if w.kind == "Deployment" {
					if msg := rollingOut(o); msg != "" {
						return id + " " + msg
					}
				}
				// A claim's conditions are copied from its XR, generation
				// and all: only the controllers' own Synced tells.
				if w.kind == "MCPServerClaim" {
					continue
				}
				conds, _, _ := unstructured.NestedSlice(o.Object, "status", "conditions")
				for _, c := range conds {
					m, _ := c.(map[string]any)
					if g, ok := m["observedGeneration"].(int64); ok && m["type"] == "Synced" && g != o.GetGeneration() {
						return fmt.Sprintf("%s is Synced as of generation %d of %d", id, g, o.GetGeneration())
					}
				}
			}
		}
		return ""
	}
}

// rollingOut says why a Deployment's rollout is not complete, "" when it is.
func rollingOut(d unstructured.Unstructured) string {
	st := func(f string) int64 { v, _, _ := unstructured.NestedInt64(d.Object, "status", f); return v }
	want, _, _ := unstructured.NestedInt64(d.Object, "spec", "replicas")
	if st("observedGeneration") != d.GetGeneration() || st("replicas") != want || st("updatedReplicas") != want || st("availableReplicas") != want {
		return fmt.Sprintf("is rolling out: %v", d.Object["status"])
	}
	return ""
}

// testSecretHygiene: no secret value the tests used appears in a ConfigMap,
// a Deployment's arguments or environment, any watched object's status, an
// event, or the provider's, function's or Crossplane's logs.
func testSecretHygiene(t *testing.T) {
	check := func(where, text string) {
		for _, s := range secretsUsed {
			if strings.Contains(text, s) {
				t.Errorf("secret value %q appears in %s", s, where)
			}
		}
	}
	// Every object of every kind the API server lists, whole (spec, status,
	// annotations, data), except Secrets, where secret values belong.
	cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(state, "kubeconfig"))
	if err != nil {
		t.Fatal(err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	lists, err := dc.ServerPreferredResources()
	if err != nil {
		t.Fatalf("cannot discover the API server's resources: %v", err)
	}
	objects, kinds := 0, 0
	for _, l := range lists {
		for _, r := range l.APIResources {
			if !slices.Contains(r.Verbs, "list") || strings.Contains(r.Name, "/") || (l.GroupVersion == "v1" && r.Kind == "Secret") {
				continue
			}
			ul := &unstructured.UnstructuredList{}
			ul.SetAPIVersion(l.GroupVersion)
			ul.SetKind(r.Kind + "List")
			if err := kube.List(context.Background(), ul); err != nil {
				t.Errorf("cannot list %s %s: %v", l.GroupVersion, r.Kind, err)
				continue
			}
			kinds++
			for _, o := range ul.Items {
				objects++
				b, _ := json.Marshal(o.Object)
				check(fmt.Sprintf("%s %s/%s", r.Kind, o.GetNamespace(), o.GetName()), string(b))
			}
		}
	}
	// Every component's log, and every pod's the plane ran (the proxy
	// runners and MCP servers).
	logs, _ := filepath.Glob(filepath.Join(state, "logs", "*.log"))
	pods, _ := filepath.Glob(filepath.Join(state, "pods", "*.log"))
	logs = append(logs, pods...)
	for _, f := range logs {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Errorf("cannot read %s: %v", f, err)
		}
		check(filepath.Base(f), string(b))
	}
	if len(pods) == 0 {
		t.Error("no pod log to scan: the plane ran no proxy runner")
	}
	for _, l := range []string{"provider", "function", "crossplane", "supervisor"} {
		if !slices.Contains(logs, filepath.Join(state, "logs", l+".log")) {
			t.Errorf("no %s log to scan", l)
		}
	}
	t.Logf("scanned for %d secret values in %d objects of %d kinds and %d logs", len(secretsUsed), objects, kinds, len(logs))
}
