//go:build e2e

package e2e

// These run last (files run in name order): they look at everything the
// other tests left behind.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
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

// TestSteadyState: over two poll intervals with nothing changing, nothing
// the controllers own is written: every resourceVersion stays. Write
// requests seen by the apiserver's audit log are reported too.
func TestSteadyState(t *testing.T) {
	poll, err := time.ParseDuration(os.Getenv("LOCAL_POLL"))
	if err != nil {
		t.Fatalf("LOCAL_POLL: %v", err)
	}
	time.Sleep(10 * time.Second) // let the last test's changes settle
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

// TestSecretHygiene: no secret value the tests used appears in a ConfigMap,
// a Deployment's arguments or environment, any watched object's status, an
// event, or the provider's, function's or Crossplane's logs.
func TestSecretHygiene(t *testing.T) {
	check := func(where, text string) {
		for _, s := range secretsUsed {
			if strings.Contains(text, s) {
				t.Errorf("secret value %q appears in %s", s, where)
			}
		}
	}
	for _, w := range watched {
		for _, o := range listAll(t, w.apiVersion, w.kind) {
			where := fmt.Sprintf("%s %s/%s", w.kind, o.GetNamespace(), o.GetName())
			st, _ := json.Marshal(o.Object["status"])
			check(where+" status", string(st))
			switch w.kind {
			case "ConfigMap":
				d, _ := json.Marshal(o.Object["data"])
				check(where+" data", string(d))
			case "Deployment":
				c, _ := json.Marshal(o.Object["spec"])
				check(where+" spec (args, env)", string(c))
			}
		}
	}
	events := &unstructured.UnstructuredList{}
	events.SetAPIVersion("v1")
	events.SetKind("EventList")
	if err := kube.List(context.Background(), events, &client.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, e := range events.Items {
		msg, _, _ := unstructured.NestedString(e.Object, "message")
		check("event "+e.GetNamespace()+"/"+e.GetName(), msg)
	}
	for _, l := range []string{"provider", "function", "crossplane", "crossplane-init", "supervisor", "package-runtime"} {
		b, err := os.ReadFile(filepath.Join(state, "logs", l+".log"))
		if err != nil && l != "package-runtime" {
			t.Errorf("cannot read the %s log: %v", l, err)
		}
		check(l+" log", string(b))
	}
	t.Logf("scanned for %d secret values in %d events and the objects and logs", len(secretsUsed), len(events.Items))
}
