package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	pkgv1 "github.com/crossplane/crossplane/apis/v2/pkg/v1"

	authv1alpha1 "github.com/crossmcp/provider-mcp/apis/auth/v1alpha1"
	"github.com/crossmcp/provider-mcp/cluster/local/kclient"
	"github.com/crossmcp/provider-mcp/internal/function/render"
)

// The quick-start example: examples/complete.
const (
	exampleDir = "examples/complete"
	exampleNS  = "demo"
	exampleXR  = "fetch"
)

var exampleFiles = []string{"providerconfig.yaml", "secret.yaml", "externalauthconfig.yaml", "xr.yaml"}

type applyCmd struct {
	Timeout time.Duration `default:"5m" help:"How long to wait for the MCPServer to be Ready."`
}

// Run applies the quick-start example and waits for the MCPServer to be
// Ready, printing its conditions as they change.
func (c *applyCmd) Run(p *paths) error {
	ctx, cancel := ctx(c.Timeout)
	defer cancel()
	kube, err := kclient.New(p.Kubeconfig())
	if err != nil {
		return err
	}
	pl := &plane{p: p, kube: kube}
	if err := pl.ensureNamespace(ctx, exampleNS); err != nil {
		return err
	}
	if err := publishIssuerCA(ctx, kube, exampleNS); err != nil {
		return err
	}
	for _, f := range exampleFiles {
		fmt.Printf("Applying %s\n", filepath.Join(exampleDir, f))
		if err := kclient.ApplyFile(ctx, kube, filepath.Join(exampleDir, f), exampleNS); err != nil {
			return err
		}
	}
	fmt.Printf("Waiting for MCPServer %s/%s to be Ready\n", exampleNS, exampleXR)
	last := ""
	err = waitFor(ctx, "MCPServer Ready", nil, c.Timeout, func(ctx context.Context) error {
		xr := mcpServer()
		if err := kube.Get(ctx, client.ObjectKey{Namespace: exampleNS, Name: exampleXR}, xr); err != nil {
			return err
		}
		conds := conditions(xr)
		if s := conditionLine(conds); s != last {
			fmt.Println("  " + s)
			last = s
		}
		if conds[string(xpv2.TypeReady)].Status != corev1.ConditionTrue {
			return fmt.Errorf("not Ready: %s", conds[string(xpv2.TypeReady)].Message)
		}
		return nil
	})
	if err != nil {
		explain(kube)
	}
	return err
}

// publishIssuerCA copies the local authorization server's CA into a ConfigMap
// of ns, which the example's spec.oidc.caBundleRef names: the proxy checks
// the issuer's certificate with it.
func publishIssuerCA(ctx context.Context, kube client.Client, ns string) error {
	sec := &corev1.Secret{}
	if err := kube.Get(ctx, client.ObjectKey{Namespace: crossplaneNS, Name: idpCASecret}, sec); err != nil {
		return fmt.Errorf("cannot read the local authorization server's CA: %w", err)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: idpCASecret, Namespace: ns}}
	return kclient.CreateOrUpdate(ctx, kube, cm, func() { cm.Data = map[string]string{"ca.crt": string(sec.Data["ca.crt"])} })
}

// explain prints what the MCPServer and its config say, when they did not
// become Ready, so the cause is on screen.
func explain(kube client.Client) {
	ctx, cancel := ctx(30 * time.Second)
	defer cancel()
	xr := mcpServer()
	if err := kube.Get(ctx, client.ObjectKey{Namespace: exampleNS, Name: exampleXR}, xr); err == nil {
		for t, c := range conditions(xr) {
			fmt.Printf("  MCPServer %s=%s %s: %s\n", t, c.Status, c.Reason, c.Message)
		}
	}
	eac := &authv1alpha1.ExternalAuthConfig{}
	if err := kube.Get(ctx, client.ObjectKey{Namespace: exampleNS, Name: "backend-api"}, eac); err == nil {
		for _, c := range eac.Status.Conditions {
			fmt.Printf("  ExternalAuthConfig %s=%s %s: %s (observedGeneration %d of %d)\n", c.Type, c.Status, c.Reason, c.Message, c.ObservedGeneration, eac.Generation)
		}
	}
}

func mcpServer() *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("platform.crossmcp.io/v1alpha1")
	u.SetKind("MCPServer")
	return u
}

// conditions reads an object's status conditions by type.
func conditions(u *unstructured.Unstructured) map[string]xpv2.Condition {
	var cs []xpv2.Condition
	if raw, ok, _ := unstructured.NestedSlice(u.Object, "status", "conditions"); ok {
		b, _ := json.Marshal(raw)
		_ = json.Unmarshal(b, &cs)
	}
	out := map[string]xpv2.Condition{}
	for _, c := range cs {
		out[string(c.Type)] = c
	}
	return out
}

func conditionLine(cs map[string]xpv2.Condition) string {
	keys := make([]string, 0, len(cs))
	for k := range cs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%s(%s)", k, cs[k].Status, cs[k].Reason))
	}
	return strings.Join(parts, " ")
}

type summaryCmd struct{}

// Run prints the packages, the example's MCPServer, what it composed and
// the token exchange as the proxy runner will see it.
func (c *summaryCmd) Run(p *paths) error {
	ctx, cancel := ctx(time.Minute)
	defer cancel()
	kube, err := kclient.New(p.Kubeconfig())
	if err != nil {
		return err
	}
	fmt.Println("\n== Packages")
	cl, pl, fl := &pkgv1.ConfigurationList{}, &pkgv1.ProviderList{}, &pkgv1.FunctionList{}
	for _, l := range []client.ObjectList{cl, pl, fl} {
		if err := kube.List(ctx, l); err != nil {
			return err
		}
	}
	var pkgs []pkgv1.Package
	for i := range cl.Items {
		pkgs = append(pkgs, &cl.Items[i])
	}
	for i := range pl.Items {
		pkgs = append(pkgs, &pl.Items[i])
	}
	for i := range fl.Items {
		pkgs = append(pkgs, &fl.Items[i])
	}
	for _, o := range pkgs {
		fmt.Printf("  %-30s %-62s Installed=%s Healthy=%s\n", o.GetName(), o.GetSource(),
			o.GetCondition(pkgv1.TypeInstalled).Status, o.GetCondition(pkgv1.TypeHealthy).Status)
	}

	xr := mcpServer()
	if err := kube.Get(ctx, client.ObjectKey{Namespace: exampleNS, Name: exampleXR}, xr); err != nil {
		return fmt.Errorf("cannot read the example MCPServer: %w", err)
	}
	url, _, _ := unstructured.NestedString(xr.Object, "status", "url")
	hash, _, _ := unstructured.NestedString(xr.Object, "status", "externalAuthConfigHash")
	fmt.Printf("\n== MCPServer %s/%s\n  url:   %s\n  configHash: %s\n", exampleNS, exampleXR, url, hash)
	conds := conditions(xr)
	for _, t := range []string{"Ready", "Synced", "ExternalAuthReady", "TokenExchangeActive"} {
		c := conds[t]
		fmt.Printf("  %-20s %-6s %-24s %s\n", t, c.Status, c.Reason, c.Message)
	}

	fmt.Println("\n== Composed objects")
	refs, _, _ := unstructured.NestedSlice(xr.Object, "spec", "crossplane", "resourceRefs")
	for _, r := range refs {
		m, _ := r.(map[string]any)
		fmt.Printf("  %-20s %s\n", m["kind"], m["name"])
	}
	d := &appsv1.Deployment{}
	if err := kube.Get(ctx, client.ObjectKey{Namespace: exampleNS, Name: exampleXR}, d); err == nil {
		fmt.Printf("  Deployment %s: %d/%d replicas available (pods scheduled by kwok)\n", d.Name, d.Status.AvailableReplicas, ptrOr(d.Spec.Replicas))
	}

	eac := &authv1alpha1.ExternalAuthConfig{}
	if err := kube.Get(ctx, client.ObjectKey{Namespace: exampleNS, Name: "backend-api"}, eac); err == nil {
		r := eac.GetCondition(xpv2.TypeReady)
		fmt.Printf("\n== ExternalAuthConfig %s/%s\n  Ready=%s (%s) %s\n", exampleNS, eac.Name, r.Status, r.Reason, r.Message)
	}

	fmt.Println("\n== Token exchange as the proxy runner sees it")
	cm := &corev1.ConfigMap{}
	if err := kube.Get(ctx, client.ObjectKey{Namespace: exampleNS, Name: exampleXR + "-runconfig"}, cm); err == nil {
		rc := &render.RunConfig{}
		if err := json.Unmarshal([]byte(cm.Data[render.RunConfigKey]), rc); err == nil && rc.TokenExchangeConfig != nil {
			te := rc.TokenExchangeConfig
			fmt.Printf("  token_url:          %s\n  client_id:          %s\n  audience:           %s\n  scopes:             %s\n  header_strategy:    %s %s\n",
				te.TokenURL, te.ClientID, te.Audience, strings.Join(te.Scopes, " "), te.HeaderStrategy, te.ExternalTokenHeaderName)
		}
	}
	for _, ctr := range d.Spec.Template.Spec.Containers {
		for _, e := range ctr.Env {
			if e.Name == render.EnvClientSecret && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				fmt.Printf("  client secret:      env %s from Secret %s, key %s (the value is never shown)\n", e.Name, e.ValueFrom.SecretKeyRef.Name, e.ValueFrom.SecretKeyRef.Key)
			}
		}
	}

	// make run builds no kubectl and no crossplane CLI: the tests' make
	// tools does.
	kubectl, crossplane := "kubectl", "crossplane"
	if _, err := os.Stat(p.Tool("kubectl")); err == nil {
		kubectl = p.Tool("kubectl")
	}
	if _, err := os.Stat(p.Tool("crossplane")); err == nil {
		crossplane = p.Tool("crossplane")
	}
	fmt.Printf("\n== Use it\n  export KUBECONFIG=%s\n  %s get cmcp,eac -A\n  %s beta trace mcpserver %s -n %s\n  make stop   # tear it down\n",
		p.Kubeconfig(), kubectl, crossplane, exampleXR, exampleNS)
	fmt.Println("\nkwok marks pods Ready; the plane runs ToolHive's real thv-proxyrunner for each proxy-runner pod and mcpecho")
	fmt.Printf("for each MCP server pod (logs in %s).\n", filepath.Join(p.State, "pods"))
	fmt.Printf("The apiserver authorizes with RBAC: Crossplane runs as %s/%s, its RBAC manager as %s/%s and the provider as the\nServiceAccount of its revision's Deployment in %s (kubeconfigs in %s); the function has no Kubernetes access.\n",
		crossplaneNS, crossplaneSA, crossplaneNS, rbacManagerSA, crossplaneNS, p.Identities())
	return nil
}

func ptrOr(i *int32) int32 {
	if i == nil {
		return 1
	}
	return *i
}
