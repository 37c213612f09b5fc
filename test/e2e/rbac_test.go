//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pkgv1 "github.com/crossplane/crossplane/apis/v2/pkg/v1"

	"github.com/crossmcp/provider-mcp/internal/function/render"
	"github.com/crossmcp/provider-mcp/test/wait"
)

// The identities the plane runs Crossplane, its RBAC manager and the
// provider as: the chart's and the one cluster/rbac/provider-mcp.yaml names.
const (
	providerSA    = "system:serviceaccount:crossplane-system:crossmcp-provider-mcp"
	crossplaneSA  = "system:serviceaccount:crossplane-system:crossplane"
	rbacManagerSA = "system:serviceaccount:crossplane-system:rbac-manager"
	// A proxy runner of testFaultAuthServerDown, which runs first.
	runnerNS = "faults-authserver"
	runnerSA = "system:serviceaccount:" + runnerNS + ":with-discovery-proxy-runner"
)

// An access is one request a SubjectAccessReview asks about.
type access struct {
	verb, group, resource, subresource, ns string
	name                                   string // of the object, when it matters
}

func (a access) String() string {
	r := a.resource
	if a.subresource != "" {
		r += "/" + a.subresource
	}
	if a.name != "" {
		r += " " + a.name
	}
	if a.group != "" {
		r += "." + a.group
	}
	where := "cluster-wide"
	if a.ns != "" {
		where = "in " + a.ns
	}
	return a.verb + " " + r + " " + where
}

// allowed asks the apiserver whether the service account user may do a.
func allowed(t *testing.T, user string, a access) bool {
	t.Helper()
	ns := strings.Split(strings.TrimPrefix(user, "system:serviceaccount:"), ":")[0]
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User:   user,
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"},
		ResourceAttributes: &authorizationv1.ResourceAttributes{
			Verb: a.verb, Group: a.group, Resource: a.resource, Subresource: a.subresource, Namespace: a.ns, Name: a.name,
		},
	}}
	if err := kube.Create(context.Background(), sar); err != nil {
		t.Fatalf("SubjectAccessReview %s for %s: %v", a, user, err)
	}
	return sar.Status.Allowed
}

const (
	core       = ""
	mcpGroup   = "mcp.crossmcp.io"
	authGroup  = "auth.mcp.crossmcp.io"
	xrGroup    = "platform.crossmcp.io"
	usageGroup = "protection.crossplane.io"
	rbacGroup  = "rbac.authorization.k8s.io"
	appsGroup  = "apps"
	crdGroup   = "apiextensions.k8s.io"
	anyNS      = "team-a" // any namespace: the rights are cluster-wide or not at all
)

// testRBACLeastPrivilege: what each identity may and may not do, asked of
// the apiserver's RBAC authorizer with SubjectAccessReviews. The provider's
// rights come from the ClusterRole Crossplane's RBAC manager renders for its
// revision plus cluster/rbac/provider-mcp.yaml; Crossplane's from the
// chart's ClusterRole plus what is aggregated into it, among which
// cluster/rbac/aggregate-to-crossplane.yaml.
func testRBACLeastPrivilege(t *testing.T) {
	cases := []struct {
		user string
		a    access
		want bool
		why  string
	}{
		// The provider: its own kinds, connection secrets, events, Usages read.
		{providerSA, access{"get", authGroup, "externalauthconfigs", "", anyNS, ""}, true, "reconciles its managed resources"},
		{providerSA, access{"list", authGroup, "externalauthconfigs", "", "", ""}, true, "watches them in every namespace"},
		{providerSA, access{"watch", authGroup, "externalauthconfigs", "", "", ""}, true, "watches them in every namespace"},
		{providerSA, access{"update", authGroup, "externalauthconfigs", "status", anyNS, ""}, true, "writes their status"},
		{providerSA, access{"update", authGroup, "externalauthconfigs", "", anyNS, ""}, true, "adds and removes its finalizer"},
		{providerSA, access{"get", mcpGroup, "clusterproviderconfigs", "", "", ""}, true, "reads its provider configs"},
		{providerSA, access{"create", mcpGroup, "providerconfigusages", "", anyNS, ""}, true, "Crossplane grants every verb but delete on the provider's kinds, though it writes no usages"},
		{providerSA, access{"get", core, "secrets", "", anyNS, ""}, true, "resolves client secrets"},
		{providerSA, access{"create", core, "secrets", "", anyNS, ""}, true, "writes connection secrets"},
		{providerSA, access{"create", core, "events", "", anyNS, ""}, true, "records events"},
		{providerSA, access{"list", usageGroup, "usages", "", "", ""}, true, "lists a config's users (provider-mcp.yaml)"},
		{providerSA, access{"watch", usageGroup, "usages", "", "", ""}, true, "lists a config's users (provider-mcp.yaml)"},
		{providerSA, access{"watch", crdGroup, "customresourcedefinitions", "", "", ""}, true, "safe start: waits for its CRDs"},

		{providerSA, access{"create", usageGroup, "usages", "", anyNS, ""}, false, "reads Usages, never writes them"},
		{providerSA, access{"delete", usageGroup, "usages", "", anyNS, ""}, false, "reads Usages, never writes them"},
		{providerSA, access{"delete", authGroup, "externalauthconfigs", "", anyNS, ""}, false, "never deletes its managed resources"},
		{providerSA, access{"get", xrGroup, "mcpservers", "", anyNS, ""}, false, "has no business with XRs"},
		{providerSA, access{"list", core, "pods", "", "", ""}, false, "runs no workloads"},
		{providerSA, access{"create", appsGroup, "deployments", "", anyNS, ""}, false, "runs no workloads"},
		{providerSA, access{"create", appsGroup, "statefulsets", "", anyNS, ""}, false, "runs no workloads"},
		{providerSA, access{"create", core, "serviceaccounts", "token", anyNS, ""}, false, "mints no tokens"},
		{providerSA, access{"create", rbacGroup, "roles", "", anyNS, ""}, false, "grants nothing"},
		{providerSA, access{"create", rbacGroup, "rolebindings", "", anyNS, ""}, false, "grants nothing"},
		{providerSA, access{"create", rbacGroup, "clusterroles", "", "", ""}, false, "grants nothing"},
		{providerSA, access{"create", rbacGroup, "clusterrolebindings", "", "", ""}, false, "grants nothing"},
		{providerSA, access{"update", crdGroup, "customresourcedefinitions", "", "", ""}, false, "Crossplane installs its CRDs"},
		{providerSA, access{"list", core, "namespaces", "", "", ""}, false, "needs no namespace list"},

		// Crossplane: what the MCPServer composes, in any namespace; it binds
		// the proxy runner's ClusterRole and no other, and holds none of the
		// runner's rights itself.
		{crossplaneSA, access{"create", rbacGroup, "rolebindings", "", anyNS, ""}, true, "composes the proxy runner's RoleBinding"},
		{crossplaneSA, access{"bind", rbacGroup, "clusterroles", "", "", render.ProxyRunnerClusterRole}, true, "binds the proxy runner's ClusterRole"},
		{crossplaneSA, access{"delete", rbacGroup, "roles", "", anyNS, ""}, true, "removes the Roles earlier versions composed"},
		{crossplaneSA, access{"patch", appsGroup, "statefulsets", "", anyNS, ""}, true, "adopts the MCP server's StatefulSet"},
		{crossplaneSA, access{"create", authGroup, "externalauthconfigs", "", anyNS, ""}, true, "composes inline configs"},
		{crossplaneSA, access{"create", usageGroup, "usages", "", anyNS, ""}, true, "composes the config's Usage"},
		{crossplaneSA, access{"create", appsGroup, "deployments", "", anyNS, ""}, true, "composes the proxy runner"},
		{crossplaneSA, access{"create", core, "serviceaccounts", "", anyNS, ""}, true, "composes the runner's and server's accounts"},
		{crossplaneSA, access{"create", core, "configmaps", "", anyNS, ""}, true, "composes the runconfig"},
		{crossplaneSA, access{"update", xrGroup, "mcpservers", "status", anyNS, ""}, true, "the RBAC manager's XRD role"},
		{crossplaneSA, access{"update", xrGroup, "mcpserverclaims", "", anyNS, ""}, true, "the RBAC manager's XRD role, claims too"},

		{crossplaneSA, access{"create", rbacGroup, "roles", "", anyNS, ""}, false, "writes no Roles"},
		{crossplaneSA, access{"update", rbacGroup, "roles", "", anyNS, ""}, false, "writes no Roles"},
		{crossplaneSA, access{"bind", rbacGroup, "clusterroles", "", "", "cluster-admin"}, false, "binds no other ClusterRole"},
		{crossplaneSA, access{"bind", rbacGroup, "clusterroles", "", "", "admin"}, false, "binds no other ClusterRole"},
		{crossplaneSA, access{"bind", rbacGroup, "roles", "", anyNS, ""}, false, "binds no Role"},
		{crossplaneSA, access{"escalate", rbacGroup, "roles", "", anyNS, ""}, false, "escalates nothing"},
		{crossplaneSA, access{"escalate", rbacGroup, "clusterroles", "", "", ""}, false, "escalates nothing"},
		{crossplaneSA, access{"create", rbacGroup, "clusterroles", "", "", ""}, false, "composes nothing cluster-scoped"},
		{crossplaneSA, access{"create", rbacGroup, "clusterrolebindings", "", "", ""}, false, "composes nothing cluster-scoped"},
		{crossplaneSA, access{"create", core, "pods", "attach", anyNS, ""}, false, "holds none of the runner's rights"},
		{crossplaneSA, access{"get", core, "pods", "log", anyNS, ""}, false, "holds none of the runner's rights"},
		{crossplaneSA, access{"create", appsGroup, "statefulsets", "", anyNS, ""}, false, "only adopts what the runner creates"},
		{crossplaneSA, access{"create", core, "pods", "", anyNS, ""}, false, "leaves pods to the Deployment controller"},
		{crossplaneSA, access{"create", core, "pods", "exec", anyNS, ""}, false, "never execs into pods"},
		{crossplaneSA, access{"create", core, "serviceaccounts", "token", anyNS, ""}, false, "mints no tokens"},

		// A proxy runner has its rights in its own namespace only, and no
		// Secrets (testFaultAuthServerDown's MCPServers run by now).
		{runnerSA, access{"create", core, "pods", "attach", runnerNS, ""}, true, "attaches to its stdio server"},
		{runnerSA, access{"patch", appsGroup, "statefulsets", "", runnerNS, ""}, true, "applies its MCP server's StatefulSet"},
		{runnerSA, access{"create", core, "pods", "attach", anyNS, ""}, false, "has no rights outside its namespace"},
		{runnerSA, access{"patch", appsGroup, "statefulsets", "", anyNS, ""}, false, "has no rights outside its namespace"},
		{runnerSA, access{"get", core, "secrets", "", runnerNS, ""}, false, "reads no Secrets"},

		// The RBAC manager renders and binds ClusterRoles, and reads no
		// secrets.
		{rbacManagerSA, access{"create", rbacGroup, "clusterrolebindings", "", "", ""}, true, "binds provider system roles"},
		{rbacManagerSA, access{"get", core, "secrets", "", anyNS, ""}, false, "reads no secrets"},
	}
	for _, c := range cases {
		if got := allowed(t, c.user, c.a); got != c.want {
			verb := "may not"
			if c.want {
				verb = "may"
			}
			t.Errorf("%s %s %s (%s); the authorizer says the opposite", c.user, verb, c.a, c.why)
		}
	}

}

// testRBACProviderRuntime: the provider runs the way Crossplane runs it: a
// Deployment controlled by the active ProviderRevision, as the
// ServiceAccount cluster/rbac/provider-mcp.yaml's runtime config names,
// which Crossplane's RBAC manager bound to the revision's system
// ClusterRole.
func testRBACProviderRuntime(t *testing.T) {
	ctx := context.Background()
	prs := &pkgv1.ProviderRevisionList{}
	if err := kube.List(ctx, prs, client.MatchingLabels{pkgv1.LabelParentPackage: "crossmcp-provider-mcp"}); err != nil {
		t.Fatal(err)
	}
	var active *pkgv1.ProviderRevision
	for i := range prs.Items {
		if prs.Items[i].GetDesiredState() == pkgv1.PackageRevisionActive {
			active = &prs.Items[i]
		}
	}
	if active == nil {
		t.Fatal("no active revision of crossmcp-provider-mcp")
	}
	d := &appsv1.Deployment{}
	if err := kube.Get(ctx, client.ObjectKey{Namespace: "crossplane-system", Name: active.GetName()}, d); err != nil {
		t.Fatalf("the provider revision's Deployment: %v", err)
	}
	if !metav1.IsControlledBy(d, active) {
		t.Errorf("Deployment %s is not controlled by revision %s: %+v", d.Name, active.GetName(), d.OwnerReferences)
	}
	if sa := d.Spec.Template.Spec.ServiceAccountName; sa != "crossmcp-provider-mcp" {
		t.Errorf("the provider's Deployment runs as %q, want crossmcp-provider-mcp", sa)
	}
	crb := &rbacv1.ClusterRoleBinding{}
	name := "crossplane:provider:" + active.GetName() + ":system"
	wait.For(t, time.Minute, "the RBAC manager's binding", func() string {
		if err := kube.Get(ctx, client.ObjectKey{Name: name}, crb); err != nil {
			return err.Error()
		}
		for _, s := range crb.Subjects {
			if s.Kind == rbacv1.ServiceAccountKind && s.Namespace == "crossplane-system" && s.Name == "crossmcp-provider-mcp" {
				return ""
			}
		}
		return fmt.Sprintf("ClusterRoleBinding %s binds %+v", name, crb.Subjects)
	})
}

// auditEvent is what the audit log records of a request.
type auditEvent struct {
	Verb string `json:"verb"`
	User struct {
		Username string `json:"username"`
	} `json:"user"`
	ObjectRef struct {
		Resource, Namespace, Name, Subresource, APIGroup string
	} `json:"objectRef"`
	ResponseStatus struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
	Annotations map[string]string `json:"annotations"`
	Received    time.Time         `json:"requestReceivedTimestamp"`
}

// refusedByRBAC reports whether the RBAC authorizer refused the request, as
// opposed to admission (a namespace being deleted, say).
func (e auditEvent) refusedByRBAC() bool {
	return e.Annotations["authorization.k8s.io/decision"] == "forbid"
}

func (e auditEvent) String() string {
	r := e.ObjectRef.Resource
	if e.ObjectRef.Subresource != "" {
		r += "/" + e.ObjectRef.Subresource
	}
	return fmt.Sprintf("%s %s %s/%s (%d)", e.Verb, r, e.ObjectRef.Namespace, e.ObjectRef.Name, e.ResponseStatus.Code)
}

// auditLog reads every request the apiserver's audit log holds (the plane
// records writes only).
func auditLog(t *testing.T) []auditEvent {
	t.Helper()
	f, err := os.Open(filepath.Join(state, "logs", "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []auditEvent
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e auditEvent
		if json.Unmarshal(sc.Bytes(), &e) == nil && e.Verb != "" {
			out = append(out, e)
		}
	}
	return out
}

// testRBACRequestsAsServiceAccounts: an MCPServer and its config converge,
// and the apiserver's audit log shows who did what: the provider wrote the
// config's status and connection secret as its ServiceAccount, Crossplane
// composed the Role and RoleBinding as its own, and the RBAC authorizer
// refused none of their writes during the whole run.
func testRBACRequestsAsServiceAccounts(t *testing.T) {
	ns := newNamespace(t, "rbac")
	mustCreate(t, clientSecretObj(ns, idpClientSecret), exampleConfig(t, ns, "backend-api"), mcpServerXR(t, ns, "fetch", "backend-api"))
	wait.For(t, 3*time.Minute, "MCPServer Ready", xrReady(t, ns, "fetch"))
	// usedBy needs the Usages the provider may only read.
	wait.For(t, time.Minute, "the config's usedBy", func() string {
		if u := getConfig(t, ns, "backend-api").Status.AtProvider.UsedBy; len(u) != 1 || u[0].Name != "fetch" {
			return fmt.Sprintf("usedBy = %+v", u)
		}
		return ""
	})

	restarted := apiserverRestarted(t)
	by := map[string]map[string]bool{} // user -> "verb resource/subresource" in ns
	var refused []string
	for _, e := range auditLog(t) {
		user := e.User.Username
		if user != providerSA && user != crossplaneSA && user != rbacManagerSA {
			continue
		}
		if e.refusedByRBAC() {
			if restarted(e.Received) {
				t.Logf("refused while the apiserver's RBAC cache was filling after a restart (fault tests), not counted: %s: %s", user, e)
			} else {
				refused = append(refused, user+": "+e.String())
			}
		}
		if e.ObjectRef.Namespace != ns || e.ResponseStatus.Code >= 300 {
			continue
		}
		if by[user] == nil {
			by[user] = map[string]bool{}
		}
		r := e.ObjectRef.Resource
		if e.ObjectRef.Subresource != "" {
			r += "/" + e.ObjectRef.Subresource
		}
		by[user][e.Verb+" "+r] = true
	}
	for _, want := range []struct{ user, write string }{
		{providerSA, "update externalauthconfigs/status"},
		{providerSA, "create secrets"},
		// Crossplane composes with server-side apply: a patch creates.
		{crossplaneSA, "patch rolebindings"},
		{crossplaneSA, "patch statefulsets"}, // adopts the MCP server's
		{crossplaneSA, "patch usages"},
		{crossplaneSA, "patch deployments"},
		{crossplaneSA, "patch mcpservers/status"},
	} {
		if !by[want.user][want.write] {
			t.Errorf("the audit log has no %q in namespace %s by %s; that user wrote %v", want.write, ns, want.user, keys(by[want.user]))
		}
	}
	if by[crossplaneSA]["patch roles"] || by[crossplaneSA]["create roles"] {
		t.Errorf("Crossplane wrote Roles in %s: the runner's rights are the ClusterRole %s", ns, render.ProxyRunnerClusterRole)
	}
	// Provider config users are counted from the configs, not recorded.
	if by[providerSA]["create providerconfigusages"] {
		t.Errorf("the provider created ProviderConfigUsages in %s; it counts users from the configs' references", ns)
	}
	// Nobody but the provider writes the config's status.
	for _, e := range auditLog(t) {
		if e.ObjectRef.Namespace == ns && e.ObjectRef.Resource == "externalauthconfigs" && e.ObjectRef.Subresource == "status" &&
			e.ResponseStatus.Code < 300 && e.User.Username != providerSA {
			t.Errorf("%s wrote the config's status: %s", e.User.Username, e)
		}
	}
	if len(refused) > 0 {
		t.Errorf("writes refused by RBAC during the run: %v", refused)
	}
	t.Logf("writes in %s by the provider: %v; by Crossplane: %v", ns, keys(by[providerSA]), keys(by[crossplaneSA]))
}

// apiserverRestarted says whether a time falls in the half minute after the
// kube-apiserver was started again (the fault tests restart it), when its
// RBAC authorizer may still be loading roles and refuses requests it will
// allow a moment later. The plane's log of each process starts every run
// with a "==== <time> <command>" line.
func apiserverRestarted(t *testing.T) func(time.Time) bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(state, "logs", "kube-apiserver.log"))
	if err != nil {
		t.Fatal(err)
	}
	var starts []time.Time
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "====" {
			continue
		}
		if at, err := time.Parse(time.RFC3339, f[1]); err == nil {
			starts = append(starts, at)
		}
	}
	return func(at time.Time) bool {
		for i, s := range starts {
			if i > 0 && !at.Before(s.Add(-time.Second)) && at.Before(s.Add(30*time.Second)) {
				return true
			}
		}
		return false
	}
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
