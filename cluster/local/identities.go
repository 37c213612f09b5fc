package main

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"

	"github.com/crossmcp/provider-mcp/cluster/local/kclient"
)

// The service accounts Crossplane's chart gives Crossplane core and its RBAC
// manager; crossplane-rbac.yaml binds them to the chart's ClusterRoles.
const (
	crossplaneSA  = "crossplane"
	rbacManagerSA = "rbac-manager"
)

//go:embed crossplane-rbac.yaml
var crossplaneRBAC []byte

// tokenLifetime is how long a service account token the plane hands out is
// valid. Each process reads its token from a file, as a pod reads its
// projected token, and client-go re-reads that file every minute: the plane
// renews the file at half the lifetime, and whenever it starts the process.
const tokenLifetime = 24 * time.Hour

// tokens are the service account tokens the plane issued, by token file,
// for rotateTokens to renew.
type tokens struct {
	mu     sync.Mutex
	issued map[string]issued
}

type issued struct {
	ns, name string
	at       time.Time
}

// crossplaneIdentities gives Crossplane core and its RBAC manager the service
// accounts and ClusterRoles Crossplane's chart gives them.
func (pl *plane) crossplaneIdentities(ctx context.Context) error {
	if err := pl.ensureNamespace(ctx, crossplaneNS); err != nil {
		return err
	}
	return kclient.ApplyYAML(ctx, pl.kube, crossplaneRBAC, "crossplane-rbac.yaml", "")
}

// kubeconfigFor requests a token for service account ns/name through the
// TokenRequest API and writes a kubeconfig that reads the token from a file
// next to it. It returns the kubeconfig's path.
func (pl *plane) kubeconfigFor(ctx context.Context, ns, name string) (string, error) {
	dir := pl.p.Identities()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	base := filepath.Join(dir, ns+"."+name)
	if err := pl.renewToken(ctx, ns, name, base+".token"); err != nil {
		return "", err
	}
	caPEM, err := os.ReadFile(pl.certFile("ca.crt"))
	if err != nil {
		return "", err
	}
	user := "system:serviceaccount:" + ns + ":" + name
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["local"] = &clientcmdapi.Cluster{Server: apiserverURL, CertificateAuthorityData: caPEM}
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{TokenFile: base + ".token"}
	cfg.Contexts["local"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: user, Namespace: ns}
	cfg.CurrentContext = "local"
	kc := base + ".kubeconfig"
	if err := clientcmd.WriteToFile(*cfg, kc); err != nil {
		return "", err
	}
	return kc, nil
}

// renewToken writes a fresh token for ns/name to path, atomically, so a
// process reading it never sees half a token.
func (pl *plane) renewToken(ctx context.Context, ns, name, path string) error {
	cs, err := kubernetes.NewForConfig(pl.rest)
	if err != nil {
		return err
	}
	tr, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To(int64(tokenLifetime.Seconds()))},
	}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("cannot request a token for service account %s/%s: %w", ns, name, err)
	}
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(tr.Status.Token), 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	pl.tokens.mu.Lock()
	pl.tokens.issued[path] = issued{ns: ns, name: name, at: time.Now()}
	pl.tokens.mu.Unlock()
	return nil
}

// rotateTokens renews every token issued more than half its lifetime ago,
// until ctx ends.
func (pl *plane) rotateTokens(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Minute):
		}
		pl.tokens.mu.Lock()
		due := map[string]issued{}
		for path, t := range pl.tokens.issued {
			if time.Since(t.at) > tokenLifetime/2 {
				due[path] = t
			}
		}
		pl.tokens.mu.Unlock()
		for path, t := range due {
			if err := pl.renewToken(ctx, t.ns, t.name, path); err != nil && ctx.Err() == nil {
				fmt.Printf("%s %v\n", time.Now().Format(time.TimeOnly), err)
			}
		}
	}
}
