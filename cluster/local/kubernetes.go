package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossmcp/provider-mcp/cluster/local/certs"
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

// controllers runs kube-controller-manager, kube-scheduler and kwok, and
// waits for kwok's node.
func (pl *plane) controllers(ctx context.Context) error {
	p, c := pl.p, pl.certFile
	k := "--kubeconfig=" + p.Kubeconfig()
	ak := []string{k, "--authentication-kubeconfig=" + p.Kubeconfig(), "--authorization-kubeconfig=" + p.Kubeconfig(), "--bind-address=127.0.0.1", "--leader-elect=false"}
	if _, err := pl.procs.Start("kube-controller-manager", p.Tool("kube-controller-manager"), append(ak,
		"--secure-port=10257",
		// No cloud, no node IPAM or lifecycle: kwok's node is managed by kwok.
		"--controllers=*,-nodeipam,-nodelifecycle,-route,-service,-cloud-node-lifecycle,-ttl,-bootstrapsigner,-tokencleaner",
		"--root-ca-file="+c(certs.CA), "--service-account-private-key-file="+c(certs.SAKey),
	), nil); err != nil {
		return err
	}
	if _, err := pl.procs.Start("kube-scheduler", p.Tool("kube-scheduler"), append(ak, "--secure-port=10259"), nil); err != nil {
		return err
	}
	stages, err := kwokStages()
	if err != nil {
		return err
	}
	kwokArgs := []string{k, "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake", "--cidr=10.244.0.0/16",
		"--node-ip=127.0.0.1", "--node-lease-duration-seconds=40", "--server-address=127.0.0.1:10247"}
	for _, s := range stages {
		kwokArgs = append(kwokArgs, "--config="+s)
	}
	if _, err := pl.procs.Start("kwok", p.Tool("kwok"), kwokArgs, nil); err != nil {
		return err
	}
	return pl.fakeNode(ctx)
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

// kwokStages are the kwok module's stage files that make a node and its pods
// behave: node initialize and heartbeat, pods ready, complete and deleted.
func kwokStages() ([]string, error) {
	dir, err := moduleDir("kwok", "sigs.k8s.io/kwok")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range []string{"node/fast/node-initialize.yaml", "node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
		"pod/fast/pod-ready.yaml", "pod/fast/pod-complete.yaml", "pod/fast/pod-delete.yaml"} {
		f := filepath.Join(dir, "kustomize", "stage", s)
		if _, err := os.Stat(f); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
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

// fakeNode registers the node kwok fakes, and clears the taints only the
// (disabled) node lifecycle controller would clear once it is Ready.
func (pl *plane) fakeNode(ctx context.Context) error {
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        nodeName,
			Annotations: map[string]string{"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
			Labels:      map[string]string{"kubernetes.io/hostname": nodeName, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", "type": "kwok"},
		},
		Spec: corev1.NodeSpec{PodCIDR: "10.244.0.0/24", PodCIDRs: []string{"10.244.0.0/24"}},
	}
	if err := pl.kube.Create(ctx, n); err != nil && !kerrors.IsAlreadyExists(err) {
		return fmt.Errorf("cannot create the fake node: %w", err)
	}
	return proc.WaitFor(ctx, "fake node Ready", nil, 2*time.Minute, func(ctx context.Context) error {
		if err := pl.kube.Get(ctx, client.ObjectKeyFromObject(n), n); err != nil {
			return err
		}
		ready := false
		for _, c := range n.Status.Conditions {
			ready = ready || (c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue)
		}
		if !ready {
			return errors.New("node not Ready yet")
		}
		if len(n.Spec.Taints) > 0 {
			n.Spec.Taints = nil
			return pl.kube.Update(ctx, n)
		}
		return nil
	})
}
