package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/crossmcp/provider-mcp/cluster/local/certs"
	"github.com/crossmcp/provider-mcp/cluster/local/podrunner"
	"github.com/crossmcp/provider-mcp/cluster/local/proc"
)

// auditPolicy records every write at metadata level and no reads, so tests
// can count what the controllers write.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: None
  verbs: [get, list, watch]
- level: None
  resources: [{group: coordination.k8s.io, resources: [leases]}]
- level: Metadata
`

// etcd runs etcd on loopback, its data in the state folder.
func (pl *plane) etcd(ctx context.Context) error {
	etcd, err := pl.procs.Start("etcd", pl.p.Tool("etcd"), []string{
		"--name=local", "--data-dir=" + filepath.Join(pl.p.State, "etcd"),
		"--listen-client-urls=" + etcdClientURL, "--advertise-client-urls=" + etcdClientURL,
		"--listen-peer-urls=" + etcdPeerURL, "--initial-advertise-peer-urls=" + etcdPeerURL,
		"--initial-cluster=local=" + etcdPeerURL, "--unsafe-no-fsync", "--log-level=warn",
	}, nil)
	if err != nil {
		return err
	}
	return proc.WaitFor(ctx, "etcd", etcd, time.Minute, proc.HTTPOK(http.DefaultClient, etcdClientURL+"/health"))
}

// apiserver runs kube-apiserver with RBAC, the plane's certificates, token
// authentication for the admin and an audit log of every write.
func (pl *plane) apiserver(ctx context.Context) error {
	c := pl.certFile
	if err := os.WriteFile(c("audit-policy.yaml"), []byte(auditPolicy), 0o600); err != nil {
		return err
	}
	api, err := pl.procs.Start("kube-apiserver", pl.p.Tool("kube-apiserver"), []string{
		"--etcd-servers=" + etcdClientURL,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--secure-port=6443",
		"--tls-cert-file=" + c(certs.ServingCert), "--tls-private-key-file=" + c(certs.ServingKey),
		"--client-ca-file=" + c(certs.CA),
		"--token-auth-file=" + c(certs.TokenAuthFile),
		"--authorization-mode=RBAC",
		"--service-account-key-file=" + c(certs.SAPublic), "--service-account-signing-key-file=" + c(certs.SAKey),
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-cluster-ip-range=10.0.0.0/24",
		"--allow-privileged=true",
		"--audit-policy-file=" + c("audit-policy.yaml"), "--audit-log-path=" + pl.p.Log("audit"),
		"--audit-log-maxsize=100", "--audit-log-maxbackup=1",
	}, nil)
	if err != nil {
		return err
	}
	admin, err := pl.adminHTTP()
	if err != nil {
		return err
	}
	return proc.WaitFor(ctx, "kube-apiserver", api, 2*time.Minute, proc.HTTPOK(admin, apiserverURL+"/readyz"))
}

// controllers runs kube-controller-manager and kube-scheduler, and registers
// the plane's node.
func (pl *plane) controllers(ctx context.Context) error {
	p, c := pl.p, pl.certFile
	k := "--kubeconfig=" + p.Kubeconfig()
	ak := []string{k, "--authentication-kubeconfig=" + p.Kubeconfig(), "--authorization-kubeconfig=" + p.Kubeconfig(), "--bind-address=127.0.0.1", "--leader-elect=false"}
	if _, err := pl.procs.Start("kube-controller-manager", p.Tool("kube-controller-manager"), append(ak,
		"--secure-port=10257",
		// No cloud, no node IPAM or lifecycle: the pod runner keeps the node.
		"--controllers=*,-nodeipam,-nodelifecycle,-route,-service,-cloud-node-lifecycle,-ttl,-bootstrapsigner,-tokencleaner",
		"--root-ca-file="+c(certs.CA), "--service-account-private-key-file="+c(certs.SAKey),
	), nil); err != nil {
		return err
	}
	if _, err := pl.procs.Start("kube-scheduler", p.Tool("kube-scheduler"), append(ak, "--secure-port=10259"), nil); err != nil {
		return err
	}
	// No kubelet: the pod runner registers the node and reports its pods.
	v, err := pl.serverVersion()
	if err != nil {
		return err
	}
	return podrunner.RegisterNode(ctx, pl.kube, nodeName, v)
}

// serverVersion is the apiserver's version, which the node reports as its
// kubelet's.
func (pl *plane) serverVersion() (string, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", pl.p.Kubeconfig())
	if err != nil {
		return "", err
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return "", err
	}
	v, err := dc.ServerVersion()
	if err != nil {
		return "", fmt.Errorf("cannot read the apiserver's version: %w", err)
	}
	return v.GitVersion, nil
}

// adminHTTP is an HTTP client that trusts the plane's CA and sends the admin
// token, for health checks.
func (pl *plane) adminHTTP() (*http.Client, error) {
	caPEM, err := os.ReadFile(pl.certFile(certs.CA))
	if err != nil {
		return nil, err
	}
	token, err := os.ReadFile(pl.certFile(certs.AdminToken))
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	return &http.Client{Timeout: 5 * time.Second, Transport: bearer{token: strings.TrimSpace(string(token)), rt: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}}, nil
}

type bearer struct {
	token string
	rt    http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.rt.RoundTrip(r)
}

// moduleDir is where the Go module cache holds a module pinned by one of the
// cluster/tools wrapper modules.
func moduleDir(wrapper, module string) (string, error) {
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", module)
	cmd.Dir = filepath.Join("cluster", "tools", wrapper)
	// The wrapper modules are outside the repository's go.work.
	cmd.Env = append(os.Environ(), "GOWORK=off")
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("cannot find module %s pinned by cluster/tools/%s: %w", module, wrapper, err)
	}
	return strings.TrimSpace(string(out)), nil
}
