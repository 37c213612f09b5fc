package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	pkgv1 "github.com/crossplane/crossplane/apis/v2/pkg/v1"

	authv1alpha1 "github.com/crossmcp/provider-mcp/apis/auth/v1alpha1"
	"github.com/crossmcp/provider-mcp/cluster/local/kclient"
	"github.com/crossmcp/provider-mcp/internal/function/render"
)

// Summary prints the packages, the example's MCPServer, what it composed
// and the token exchange as the proxy runner will see it.
func Summary(ctx context.Context, pl Plane) error {
	p := pl.Paths
	kube, err := kclient.New(p.Kubeconfig())
	if err != nil {
		return err
	}
	fmt.Println("\n== Packages")
	cl, prl, fl := &pkgv1.ConfigurationList{}, &pkgv1.ProviderList{}, &pkgv1.FunctionList{}
	for _, l := range []client.ObjectList{cl, prl, fl} {
		if err := kube.List(ctx, l); err != nil {
			return err
		}
	}
	var pkgs []pkgv1.Package
	for i := range cl.Items {
		pkgs = append(pkgs, &cl.Items[i])
	}
	for i := range prl.Items {
		pkgs = append(pkgs, &prl.Items[i])
	}
	for i := range fl.Items {
		pkgs = append(pkgs, &fl.Items[i])
	}
	for _, o := range pkgs {
		fmt.Printf("  %-30s %-62s Installed=%s Healthy=%s\n", o.GetName(), o.GetSource(),
			o.GetCondition(pkgv1.TypeInstalled).Status, o.GetCondition(pkgv1.TypeHealthy).Status)
	}

	xr := mcpServer()
	if err := kube.Get(ctx, client.ObjectKey{Namespace: Namespace, Name: XR}, xr); err != nil {
		return fmt.Errorf("cannot read the example MCPServer: %w", err)
	}
	url, _, _ := unstructured.NestedString(xr.Object, "status", "url")
	hash, _, _ := unstructured.NestedString(xr.Object, "status", "externalAuthConfigHash")
	fmt.Printf("\n== MCPServer %s/%s\n  url:   %s\n  configHash: %s\n", Namespace, XR, url, hash)
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
	if err := kube.Get(ctx, client.ObjectKey{Namespace: Namespace, Name: XR}, d); err == nil {
		fmt.Printf("  Deployment %s: %d/%d replicas available (pods on the plane's node)\n", d.Name, d.Status.AvailableReplicas, ptrOr(d.Spec.Replicas))
	}

	eac := &authv1alpha1.ExternalAuthConfig{}
	if err := kube.Get(ctx, client.ObjectKey{Namespace: Namespace, Name: "backend-api"}, eac); err == nil {
		r := eac.GetCondition(xpv2.TypeReady)
		fmt.Printf("\n== ExternalAuthConfig %s/%s\n  Ready=%s (%s) %s\n", Namespace, eac.Name, r.Status, r.Reason, r.Message)
	}

	fmt.Println("\n== Token exchange as the proxy runner sees it")
	cm := &corev1.ConfigMap{}
	if err := kube.Get(ctx, client.ObjectKey{Namespace: Namespace, Name: XR + "-runconfig"}, cm); err == nil {
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
		p.Kubeconfig(), kubectl, crossplane, XR, Namespace)
	fmt.Println("\nThe plane plays kubelet: every pod is reported ready, ToolHive's real thv-proxyrunner runs for each proxy-runner pod and mcpecho")
	fmt.Printf("for each MCP server pod (logs in %s).\n", filepath.Join(p.State, "pods"))
	fmt.Println(pl.Identities)
	return nil
}

func ptrOr(i *int32) int32 {
	if i == nil {
		return 1
	}
	return *i
}
