//go:build e2e

package e2e

// Faults on the real plane: the authorization server gone for minutes, the
// kube-apiserver restarted and our processes killed mid-run, the function
// unreachable. Each time the running workload must stay as it is, nothing
// must be lost or duplicated, and everything must come back on its own.

import (
	"context"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/crossmcp/provider-mcp/test/wait"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	authv1alpha1 "github.com/crossmcp/provider-mcp/apis/auth/v1alpha1"
	mcpv1alpha1 "github.com/crossmcp/provider-mcp/apis/v1alpha1"
	"github.com/crossmcp/provider-mcp/test/authserver"
	"github.com/crossmcp/provider-mcp/test/pki"
)

// A running is what must not change under a fault: an MCPServer's
// Deployment (generation and pod template: a change is a rollout) and its
// config's connection secret (identity, version and data).
type running struct {
	generation int64
	template   corev1.PodTemplateSpec
	secret     *corev1.Secret
}

// observe reads what runs for the MCPServer name, which uses the config of
// the same name.
func observe(t *testing.T, ns, name string) running {
	t.Helper()
	d := deployment(t, ns, name)
	s := &corev1.Secret{}
	if err := kube.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name + "-token-exchange"}, s); err != nil {
		t.Fatalf("the connection secret of %s/%s: %v", ns, name, err)
	}
	return running{generation: d.Generation, template: d.Spec.Template, secret: s}
}

// changes says how now differs from r, "" when it does not.
func (r running) changes(now running) string {
	var c []string
	if now.generation != r.generation || !equality.Semantic.DeepEqual(now.template, r.template) {
		c = append(c, fmt.Sprintf("the Deployment rolled (generation %d -> %d, pod-template annotations %v -> %v)",
			r.generation, now.generation, r.template.Annotations, now.template.Annotations))
	}
	if now.secret.UID != r.secret.UID || now.secret.ResourceVersion != r.secret.ResourceVersion {
		c = append(c, fmt.Sprintf("the connection secret was rewritten (uid %s -> %s, resourceVersion %s -> %s)",
			r.secret.UID, now.secret.UID, r.secret.ResourceVersion, now.secret.ResourceVersion))
	}
	if !maps.EqualFunc(now.secret.Data, r.secret.Data, func(a, b []byte) bool { return string(a) == string(b) }) {
		c = append(c, "the connection secret's data changed")
	}
	return strings.Join(c, "; ")
}

// unchanged fails t if anything of before runs differently now.
func unchanged(t *testing.T, ns string, before map[string]running) {
	t.Helper()
	for name, r := range before {
		if c := r.changes(observe(t, ns, name)); c != "" {
			t.Errorf("%s/%s: %s", ns, name, c)
		}
	}
}

// census counts what lives in ns, by kind: what the function composes,
// what the Deployments make, the configs' connection secrets, and provider
// config usages, of which there must be none. Only what Kubernetes puts in
// every namespace is left out.
func census(t *testing.T, ns string) map[string]int {
	t.Helper()
	kinds := []struct{ apiVersion, kind string }{
		{"apps/v1", "Deployment"}, {"apps/v1", "ReplicaSet"}, {"apps/v1", "StatefulSet"}, {"v1", "Service"}, {"v1", "ConfigMap"}, {"v1", "ServiceAccount"},
		{"rbac.authorization.k8s.io/v1", "Role"}, {"rbac.authorization.k8s.io/v1", "RoleBinding"},
		{"protection.crossplane.io/v1beta1", "Usage"}, {"mcp.crossmcp.io/v1alpha1", "ProviderConfigUsage"}, {"v1", "Secret"},
	}
	n := map[string]int{}
	for _, k := range kinds {
		l := &unstructured.UnstructuredList{}
		l.SetAPIVersion(k.apiVersion)
		l.SetKind(k.kind + "List")
		if err := kube.List(context.Background(), l, client.InNamespace(ns)); err != nil {
			t.Fatalf("cannot list %s in %s: %v", k.kind, ns, err)
		}
		for _, o := range l.Items {
			switch {
			case k.kind == "ServiceAccount" && o.GetName() == "default", k.kind == "ConfigMap" && (o.GetName() == "kube-root-ca.crt" || o.GetName() == "local-idp-ca"):
				continue
			case ownedBy(o, "StatefulSet"):
				// The proxy runner's own Services for the MCP server: they
				// go with its StatefulSet, which is counted.
				continue
			case k.kind == "Secret":
				// Only connection secrets: the user's Secrets are the test's own.
				if typ, _, _ := unstructured.NestedString(o.Object, "type"); typ != "connection.crossplane.io/v1alpha1" {
					continue
				}
			}
			n[k.kind]++
		}
	}
	return n
}

func ownedBy(o unstructured.Unstructured, kind string) bool {
	for _, r := range o.GetOwnerReferences() {
		if r.Kind == kind {
			return true
		}
	}
	return false
}

// wantCensus is what servers MCPServers, each with a config of its own,
// compose and publish: two ServiceAccounts (the runner's and the server's)
// and one of everything else each, the StatefulSet the proxy runner creates
// and the XR adopts included.
func wantCensus(servers int) map[string]int {
	return map[string]int{
		"Deployment": servers, "ReplicaSet": servers, "StatefulSet": servers, "Service": servers, "ConfigMap": servers, "ServiceAccount": 2 * servers,
		"RoleBinding": servers, "Usage": servers, "Secret": servers,
	}
}

// exactlyOnce fails t unless ns holds exactly what servers MCPServers need.
func exactlyOnce(t *testing.T, ns string, servers int) {
	t.Helper()
	if got, want := census(t, ns), wantCensus(servers); !maps.Equal(got, want) {
		t.Errorf("objects in %s: %v, want %v (no duplicate, none lost)", ns, got, want)
	}
}

func configReady(t *testing.T, ns, name string) func() string {
	return func() string {
		if c := getConfig(t, ns, name).GetCondition(xpv2.TypeReady); c.Status != corev1.ConditionTrue {
			return fmt.Sprintf("config %s: Ready=%s %s %s", name, c.Status, c.Reason, c.Message)
		}
		return ""
	}
}

// converged: the config and MCPServer name are Ready.
func converged(t *testing.T, ns, name string, timeout time.Duration) {
	t.Helper()
	wait.For(t, timeout, name+" config Ready", configReady(t, ns, name))
	wait.For(t, timeout, name+" MCPServer Ready", xrReady(t, ns, name))
}

func mustLocal(t *testing.T, args ...string) {
	t.Helper()
	if out, err := local(args...); err != nil {
		t.Fatalf("local %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// planePID is the pid of one of the plane's processes, from its pid file,
// and whether it runs one of our binaries (so a recycled pid is never
// signalled).
func planePID(name string) (int, bool) {
	b, err := os.ReadFile(filepath.Join(state, "pids", name+".pid"))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, false
	}
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	return pid, err == nil && strings.HasPrefix(exe, filepath.Join(root, "_output", "bin")+"/")
}

// kill SIGKILLs the provider or function and returns its pid.
func kill(t *testing.T, name string) int {
	t.Helper()
	pid, ok := planePID(name)
	if !ok {
		t.Fatalf("the %s does not run", name)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("cannot kill the %s (pid %d): %v", name, pid, err)
	}
	return pid
}

// testFaultAuthServerDown: an authorization server gone for minutes makes
// its configs Ready=False with the reason their verification meets, keeps
// their connection secrets and the workloads using them as they are, and
// everything is Ready again, unchanged, once it is back. The server is a
// real one of this test's own, so its outage touches no other test.
func testFaultAuthServerDown(t *testing.T) {
	const outage = 2*time.Minute + 10*time.Second
	ns := newNamespace(t, "faults-authserver")
	ca, err := pki.NewCA("faults authorization server CA", 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	const secret = "faults-idp-secret"
	secretsUsed = append(secretsUsed, secret)
	// It keeps serving after this test, until the test process ends, so the
	// steady-state and hygiene checks at the end find these configs Ready.
	serve := func() *authserver.Server {
		s, err := authserver.Start(context.Background(), authserver.Options{Addr: addr, CA: ca, ClientID: idpClientID, ClientSecret: secret})
		if err != nil {
			t.Fatalf("cannot start the authorization server on %s: %v", addr, err)
		}
		return s
	}
	srv := serve()
	up := true
	t.Cleanup(func() {
		if !up {
			serve()
		}
	})

	caSecret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "faults-idp-ca"}, Data: map[string][]byte{"ca.crt": srv.CAPEM}}
	// A ClusterProviderConfig: the server listens on loopback, which only
	// a ClusterProviderConfig may allow the provider to reach.
	pc := &mcpv1alpha1.ClusterProviderConfig{
		ObjectMeta: metav1.ObjectMeta{Name: ns},
		Spec: mcpv1alpha1.ClusterProviderConfigSpec{
			CABundle: &mcpv1alpha1.CABundleSource{SecretRef: &mcpv1alpha1.KeyReference{
				LocalKeyReference: mcpv1alpha1.LocalKeyReference{Name: caSecret.Name, Key: "ca.crt"}, Namespace: ns,
			}},
			ConnectionSettings: mcpv1alpha1.ConnectionSettings{AllowedTokenHosts: []string{"127.0.0.1"}, AllowPrivateNetworks: true},
		},
	}
	mustCreate(t, clientSecretObj(ns, secret), caSecret, pc)

	// What fails first is what the provider reports: discovery when the
	// config has an issuer, otherwise the credential probe.
	tests := map[string]struct {
		issuer     bool
		wantReason string
	}{
		"with-discovery": {issuer: true, wantReason: "DiscoveryFailed"},
		"probe-only":     {issuer: false, wantReason: "AuthorizationServerUnreachable"},
	}
	for name, tc := range tests {
		mustCreate(t, exampleConfig(t, ns, name, func(c *authv1alpha1.ExternalAuthConfig) {
			c.Spec.ProviderConfigReference = &xpv2.ProviderConfigReference{Kind: mcpv1alpha1.ClusterProviderConfigKind, Name: pc.Name}
			c.Spec.ForProvider.TokenExchange.TokenURL = srv.TokenURL
			c.Spec.ForProvider.TokenExchange.IssuerURL = ""
			if tc.issuer {
				c.Spec.ForProvider.TokenExchange.IssuerURL = srv.Issuer
			}
		}), mcpServerXR(t, ns, name, name))
	}
	before := map[string]running{}
	for name := range tests {
		converged(t, ns, name, 3*time.Minute)
		if v := getConfig(t, ns, name).Status.AtProvider.Verification; v == nil || v.Outcome != authv1alpha1.VerificationSucceeded {
			t.Fatalf("%s: not verified against the test's authorization server: %+v", name, v)
		}
		before[name] = observe(t, ns, name)
	}

	srv.Close()
	up = false
	down := time.Now()
	t.Logf("authorization server %s stopped", addr)
	for name, tc := range tests {
		wait.For(t, 2*time.Minute, name+" Ready=False "+tc.wantReason, func() string {
			c := getConfig(t, ns, name).GetCondition(xpv2.TypeReady)
			if c.Status != corev1.ConditionFalse || string(c.Reason) != tc.wantReason {
				return fmt.Sprintf("Ready=%s %s %s", c.Status, c.Reason, c.Message)
			}
			if !strings.Contains(c.Message, addr) {
				return "the message does not name the server: " + c.Message
			}
			return ""
		})
		t.Logf("%s: Ready=False %s %s after the server stopped", name, tc.wantReason, time.Since(down).Round(time.Second))
	}
	// For the rest of the outage the reason holds, the MCPServers say why
	// their config is not usable, and nothing that runs changes.
	for time.Since(down) < outage {
		for name, tc := range tests {
			if c := getConfig(t, ns, name).GetCondition(xpv2.TypeReady); c.Status != corev1.ConditionFalse || string(c.Reason) != tc.wantReason {
				t.Fatalf("%s during the outage: Ready=%s %s %s, want False %s", name, c.Status, c.Reason, c.Message, tc.wantReason)
			}
		}
		unchanged(t, ns, before)
		if t.Failed() {
			t.FailNow()
		}
		time.Sleep(5 * time.Second)
	}
	for name, tc := range tests {
		c := condition(get(t, "platform.crossmcp.io/v1alpha1", "MCPServer", ns, name), "ExternalAuthReady")
		if c.Status != corev1.ConditionFalse || c.Reason != "ConfigNotReady" || !strings.Contains(c.Message, tc.wantReason) {
			t.Errorf("%s: MCPServer ExternalAuthReady=%s %s %s, want False ConfigNotReady naming %s", name, c.Status, c.Reason, c.Message, tc.wantReason)
		}
	}

	serve()
	up = true
	back := time.Now()
	t.Logf("authorization server %s started again after %s", addr, back.Sub(down).Round(time.Second))
	for name := range tests {
		converged(t, ns, name, 2*time.Minute)
		wait.For(t, time.Minute, name+" ExternalAuthReady", func() string {
			if c := condition(get(t, "platform.crossmcp.io/v1alpha1", "MCPServer", ns, name), "ExternalAuthReady"); c.Status != corev1.ConditionTrue {
				return fmt.Sprintf("ExternalAuthReady=%s %s %s", c.Status, c.Reason, c.Message)
			}
			return ""
		})
	}
	t.Logf("recovered %s after the server came back", time.Since(back).Round(time.Second))
	unchanged(t, ns, before)
	exactlyOnce(t, ns, len(tests))
}

// testFaultRestarts: the kube-apiserver restarted and the provider and
// function SIGKILLed, one after the other and all at once, each while a new
// config and MCPServer are being reconciled. Everything converges, the new
// ones and those already running; nothing is duplicated or lost, and
// nothing that ran is rolled or rewritten.
func testFaultRestarts(t *testing.T) {
	ns := newNamespace(t, "faults-restarts")
	mustCreate(t, clientSecretObj(ns, idpClientSecret), exampleConfig(t, ns, "steady"), mcpServerXR(t, ns, "steady", "steady"))
	converged(t, ns, "steady", 3*time.Minute)
	before := map[string]running{"steady": observe(t, ns, "steady")}

	rounds := []struct {
		name      string
		kill      []string // SIGKILLed; the plane's package runtime starts them again
		apiserver bool     // restarted through the supervisor, after the kills
	}{
		{name: "apiserver", apiserver: true},
		{name: "provider", kill: []string{"provider"}},
		{name: "function", kill: []string{"function"}},
		{name: "all", kill: []string{"provider", "function"}, apiserver: true},
	}
	for _, r := range rounds {
		t.Run(r.name, func(t *testing.T) {
			start := time.Now()
			// Work in flight when the fault hits.
			mustCreate(t, exampleConfig(t, ns, r.name), mcpServerXR(t, ns, r.name, r.name))
			killed := map[string]int{}
			for _, k := range r.kill {
				killed[k] = kill(t, k)
			}
			if r.apiserver {
				mustLocal(t, "restart", "kube-apiserver")
			}
			for k, old := range killed {
				wait.For(t, time.Minute, k+" started again", func() string {
					if pid, ok := planePID(k); !ok || pid == old {
						return fmt.Sprintf("pid file says %d, killed %d", pid, old)
					}
					return ""
				})
			}
			converged(t, ns, r.name, 3*time.Minute)
			for name := range before {
				converged(t, ns, name, time.Minute)
			}
			t.Logf("converged %s after the fault", time.Since(start).Round(time.Second))
			unchanged(t, ns, before)
			before[r.name] = observe(t, ns, r.name)
		})
		if t.Failed() {
			return
		}
	}
	// A last look, once every process has had time to resync: still one of
	// everything, and nothing rolled.
	time.Sleep(20 * time.Second)
	unchanged(t, ns, before)
	exactlyOnce(t, ns, len(before))
}

// testFaultFunctionDown: with the function held down the MCPServers cannot
// be composed: they say so in Synced=False, naming the function, and what
// runs stays as it is. A server created meanwhile waits. Once the function
// is back, both are Synced and Ready, and nothing running was rolled.
//
// Crossplane's calls wait for the function to be ready (gRPC waitForReady)
// until its reconcile timeout, two minutes: that is how long an unreachable
// function takes to show.
func testFaultFunctionDown(t *testing.T) {
	ns := newNamespace(t, "faults-function")
	mustCreate(t, clientSecretObj(ns, idpClientSecret), exampleConfig(t, ns, "running"), mcpServerXR(t, ns, "running", "running"))
	converged(t, ns, "running", 3*time.Minute)
	before := map[string]running{"running": observe(t, ns, "running")}

	mustLocal(t, "hold", "function")
	t.Cleanup(func() { _, _ = local("release", "function") })
	held := time.Now()
	mustCreate(t, exampleConfig(t, ns, "waiting"), mcpServerXR(t, ns, "waiting", "waiting"))
	// An edit makes Crossplane reconcile the running server now rather than
	// when its function's answer expires (a minute); annotations of the XR
	// reach nothing it composes.
	xr := get(t, "platform.crossmcp.io/v1alpha1", "MCPServer", ns, "running")
	if err := kube.Patch(context.Background(), xr, client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"annotations":{"faults.crossmcp.io/edited":"while the function is down"}}}`))); err != nil {
		t.Fatal(err)
	}
	const fn = `Function "crossmcp-function-mcp-server"`
	// Crossplane's call to a function that is down waits out the XR
	// reconcile's two-minute timeout before it fails. A reconcile that was
	// in flight when the function went down may then fail to write that
	// status (a conflict with the edit above) and the next one wait two
	// minutes more: allow for both.
	for _, name := range []string{"running", "waiting"} {
		wait.For(t, 5*time.Minute, name+" Synced=False naming the function", func() string {
			c := condition(get(t, "platform.crossmcp.io/v1alpha1", "MCPServer", ns, name), "Synced")
			if c.Status != corev1.ConditionFalse || c.Reason != "ReconcileError" || !strings.Contains(c.Message, fn) {
				return fmt.Sprintf("Synced=%s %s %s", c.Status, c.Reason, c.Message)
			}
			return ""
		})
	}
	c := condition(get(t, "platform.crossmcp.io/v1alpha1", "MCPServer", ns, "running"), "Synced")
	t.Logf("with the function down (%s): Synced=False %s: %s", time.Since(held).Round(time.Second), c.Reason, c.Message)
	unchanged(t, ns, before)
	if d := census(t, ns)["Deployment"]; d != 1 {
		t.Errorf("%d Deployments while the function is down, want only the running server's", d)
	}

	mustLocal(t, "release", "function")
	released := time.Now()
	// Crossplane's connection to the function retries with gRPC's backoff,
	// which after two minutes of refusals waits a minute or two between
	// attempts: recovery takes up to that long.
	for _, name := range []string{"running", "waiting"} {
		wait.For(t, 4*time.Minute, name+" Synced and Ready", func() string {
			xr := get(t, "platform.crossmcp.io/v1alpha1", "MCPServer", ns, name)
			for _, typ := range []string{"Synced", "Ready"} {
				if c := condition(xr, typ); c.Status != corev1.ConditionTrue {
					return fmt.Sprintf("%s=%s %s %s", typ, c.Status, c.Reason, c.Message)
				}
			}
			return ""
		})
	}
	t.Logf("recovered %s after the function came back", time.Since(released).Round(time.Second))
	unchanged(t, ns, before)
	exactlyOnce(t, ns, 2)
}
