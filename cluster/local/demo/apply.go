// Package demo is make run's example: it applies examples/complete, waits
// until its MCPServer is Ready, says what runs, and calls the MCP server
// through the real proxy runner as a user.
package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	authv1alpha1 "github.com/crossmcp/provider-mcp/apis/auth/v1alpha1"
	"github.com/crossmcp/provider-mcp/cluster/local/kclient"
	"github.com/crossmcp/provider-mcp/cluster/local/state"
)

// The quick-start example: examples/complete's MCPServer fetch, in
// namespace demo.
const (
	Dir       = "examples/complete"
	Namespace = "demo"
	XR        = "fetch"
)

var files = []string{"providerconfig.yaml", "secret.yaml", "externalauthconfig.yaml", "xr.yaml"}

// Plane is what the example needs of the running plane.
type Plane struct {
	Paths *state.Paths
	// Issuer is the local authorization server's URL.
	Issuer string
	// IssuerCA is the Secret (key ca.crt) with the issuer's CA.
	IssuerCA client.ObjectKey
	// Identities says who runs as what, for the summary.
	Identities string
}

// Apply applies the quick-start example and waits for the MCPServer to be
// Ready, printing its conditions as they change.
func Apply(ctx context.Context, pl Plane, timeout time.Duration) error {
	kube, err := kclient.New(pl.Paths.Kubeconfig())
	if err != nil {
		return err
	}
	if err := kube.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: Namespace}}); err != nil && !kerrors.IsAlreadyExists(err) {
		return fmt.Errorf("cannot create namespace %s: %w", Namespace, err)
	}
	if err := publishIssuerCA(ctx, kube, pl.IssuerCA, Namespace); err != nil {
		return err
	}
	for _, f := range files {
		fmt.Printf("Applying %s\n", filepath.Join(Dir, f))
		if err := kclient.ApplyFile(ctx, kube, filepath.Join(Dir, f), Namespace); err != nil {
			return err
		}
	}
	fmt.Printf("Waiting for MCPServer %s/%s to be Ready\n", Namespace, XR)
	last, why := "", ""
	err = wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		xr := mcpServer()
		if err := kube.Get(ctx, client.ObjectKey{Namespace: Namespace, Name: XR}, xr); err != nil {
			why = err.Error()
			return false, nil
		}
		conds := conditions(xr)
		if s := conditionLine(conds); s != last {
			fmt.Println("  " + s)
			last = s
		}
		ready := conds[string(xpv2.TypeReady)]
		why = ready.Message
		return ready.Status == corev1.ConditionTrue, nil
	})
	if err != nil {
		explain(kube)
		return fmt.Errorf("MCPServer %s/%s is not Ready within %s: %s", Namespace, XR, timeout, why)
	}
	return nil
}

// publishIssuerCA copies the local authorization server's CA into a ConfigMap
// of ns, which the example's spec.oidc.caBundleRef names: the proxy checks
// the issuer's certificate with it.
func publishIssuerCA(ctx context.Context, kube client.Client, ca client.ObjectKey, ns string) error {
	sec := &corev1.Secret{}
	if err := kube.Get(ctx, ca, sec); err != nil {
		return fmt.Errorf("cannot read the local authorization server's CA: %w", err)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: ca.Name, Namespace: ns}}
	return kclient.CreateOrUpdate(ctx, kube, cm, func() { cm.Data = map[string]string{"ca.crt": string(sec.Data["ca.crt"])} })
}

// explain prints what the MCPServer and its config say, when they did not
// become Ready, so the cause is on screen.
func explain(kube client.Client) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	xr := mcpServer()
	if err := kube.Get(ctx, client.ObjectKey{Namespace: Namespace, Name: XR}, xr); err == nil {
		for t, c := range conditions(xr) {
			fmt.Printf("  MCPServer %s=%s %s: %s\n", t, c.Status, c.Reason, c.Message)
		}
	}
	eac := &authv1alpha1.ExternalAuthConfig{}
	if err := kube.Get(ctx, client.ObjectKey{Namespace: Namespace, Name: "backend-api"}, eac); err == nil {
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
