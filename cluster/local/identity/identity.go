// Package identity gives the plane's processes the identities of
// ServiceAccounts, as a pod gets them: a kubeconfig that reads a token from
// a file the plane keeps fresh, the token requested through the TokenRequest
// API. The apiserver then authenticates and authorizes each process as its
// ServiceAccount, so RBAC decides what it may do.
package identity

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
)

// Lifetime is how long a token the plane hands out is valid. Each process
// reads its token from a file, as a pod reads its projected token, and
// client-go re-reads that file every minute: the plane renews the file at
// half the lifetime, and whenever it starts the process.
const Lifetime = 24 * time.Hour

// Issuer writes kubeconfigs for ServiceAccounts and renews their tokens.
type Issuer struct {
	// Dir holds the kubeconfigs and token files.
	Dir string
	// Server is the apiserver's URL and CAPEM the CA its certificate
	// verifies against.
	Server string
	CAPEM  []byte
	// Tokens requests tokens.
	Tokens kubernetes.Interface

	mu     sync.Mutex
	issued map[string]issued // by token file
}

type issued struct {
	ns, name string
	at       time.Time
}

// Kubeconfig requests a token for service account ns/name and writes a
// kubeconfig that reads the token from a file next to it. It returns the
// kubeconfig's path.
func (i *Issuer) Kubeconfig(ctx context.Context, ns, name string) (string, error) {
	if err := os.MkdirAll(i.Dir, 0o700); err != nil {
		return "", err
	}
	base := filepath.Join(i.Dir, ns+"."+name)
	if err := i.renew(ctx, ns, name, base+".token"); err != nil {
		return "", err
	}
	user := "system:serviceaccount:" + ns + ":" + name
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["local"] = &clientcmdapi.Cluster{Server: i.Server, CertificateAuthorityData: i.CAPEM}
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{TokenFile: base + ".token"}
	cfg.Contexts["local"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: user, Namespace: ns}
	cfg.CurrentContext = "local"
	kc := base + ".kubeconfig"
	if err := clientcmd.WriteToFile(*cfg, kc); err != nil {
		return "", err
	}
	return kc, nil
}

// renew writes a fresh token for ns/name to path, atomically, so a process
// reading it never sees half a token.
func (i *Issuer) renew(ctx context.Context, ns, name, path string) error {
	tr, err := i.Tokens.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To(int64(Lifetime.Seconds()))},
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
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.issued == nil {
		i.issued = map[string]issued{}
	}
	i.issued[path] = issued{ns: ns, name: name, at: time.Now()}
	return nil
}

// Rotate renews, every minute until ctx ends, each token issued more than
// half its lifetime ago. Failures go to logf.
func (i *Issuer) Rotate(ctx context.Context, logf func(format string, args ...any)) {
	wait.UntilWithContext(ctx, func(ctx context.Context) {
		for path, t := range i.due(time.Now()) {
			if err := i.renew(ctx, t.ns, t.name, path); err != nil && ctx.Err() == nil {
				logf("%v", err)
			}
		}
	}, time.Minute)
}

// due are the tokens to renew at now, by token file.
func (i *Issuer) due(now time.Time) map[string]issued {
	i.mu.Lock()
	defer i.mu.Unlock()
	out := map[string]issued{}
	for path, t := range i.issued {
		if now.Sub(t.at) > Lifetime/2 {
			out[path] = t
		}
	}
	return out
}
