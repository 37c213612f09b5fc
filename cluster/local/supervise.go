package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossmcp/provider-mcp/cluster/local/install"
	"github.com/crossmcp/provider-mcp/cluster/local/kclient"
	"github.com/crossmcp/provider-mcp/cluster/local/podrunner"
	"github.com/crossmcp/provider-mcp/cluster/local/proc"
	"github.com/crossmcp/provider-mcp/internal/pki"
	"github.com/crossmcp/provider-mcp/test/authserver"
)

// Where the plane serves. Everything binds 127.0.0.1 but Crossplane core's
// metrics, health and webhook ports, which core binds on all interfaces.
const (
	etcdClientURL   = "http://127.0.0.1:2379"
	etcdPeerURL     = "http://127.0.0.1:2380"
	apiserverURL    = "https://127.0.0.1:6443"
	registryAddr    = "127.0.0.1:5000"
	authServerAddr  = "127.0.0.1:8443"
	functionAddr    = "127.0.0.1:9443"
	webhookPort     = "9444"
	coreMetricsPort = "18080"
	coreHealthPort  = "18081"
	providerMetrics = "127.0.0.1:18082"
	providerHealth  = "127.0.0.1:18083"
	// The RBAC manager has no flag for it: controller-runtime's default,
	// which cluster/tools/build.sh sets to 127.0.0.1:18084 when it links.
	rbacManagerMetricsPort = "18084"

	crossplaneNS   = "crossplane-system"
	nodeName       = "kwok-node-0"
	idpCASecret    = "local-idp-ca"
	idpClientID    = "mcp-proxy"
	idpSecretValue = "local-demo-secret"
)

// superviseCmd runs the plane in the foreground until it is signalled.
type superviseCmd struct{}

// plane is the running control plane.
type plane struct {
	p      *paths
	procs  *proc.Set
	kube   client.Client
	rest   *rest.Config
	ca     *pki.CA
	tokens tokens
}

func (s *superviseCmd) Run(p *paths) error {
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer cancel()
	if err := os.WriteFile(p.PidFile("supervisor"), []byte(fmt.Sprint(os.Getpid())), 0o600); err != nil {
		return err
	}
	defer os.Remove(p.PidFile("supervisor"))

	pl := &plane{p: p, procs: proc.NewSet(p), tokens: tokens{issued: map[string]issued{}}}
	defer pl.procs.StopAll()
	if err := pl.boot(ctx); err != nil {
		phase(p, "failed: "+err.Error())
		return err
	}
	phase(p, "ready")
	<-ctx.Done()
	phase(p, "stopping")
	return nil
}

// phase records what the supervisor does, for start and status to show.
func phase(p *paths, what string) {
	_ = os.WriteFile(p.PhaseFile(), []byte(what), 0o600)
	fmt.Printf("%s %s\n", time.Now().Format(time.TimeOnly), what)
}

// boot starts every component in order, each once the one before serves.
func (pl *plane) boot(ctx context.Context) error {
	p := pl.p
	phase(p, "creating certificates and the admin kubeconfig")
	if err := pl.pki(); err != nil {
		return err
	}

	phase(p, "starting etcd")
	etcd, err := pl.procs.Start("etcd", p.Tool("etcd"), []string{
		"--name=local", "--data-dir=" + filepath.Join(p.State, "etcd"),
		"--listen-client-urls=" + etcdClientURL, "--advertise-client-urls=" + etcdClientURL,
		"--listen-peer-urls=" + etcdPeerURL, "--initial-advertise-peer-urls=" + etcdPeerURL,
		"--initial-cluster=local=" + etcdPeerURL, "--unsafe-no-fsync", "--log-level=warn",
	}, nil)
	if err != nil {
		return err
	}
	if err := proc.WaitFor(ctx, "etcd", etcd, time.Minute, proc.HTTPOK(http.DefaultClient, etcdClientURL+"/health")); err != nil {
		return err
	}

	phase(p, "starting kube-apiserver")
	c := pl.certFile
	api, err := pl.procs.Start("kube-apiserver", p.Tool("kube-apiserver"), []string{
		"--etcd-servers=" + etcdClientURL,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--secure-port=6443",
		"--tls-cert-file=" + c("apiserver.crt"), "--tls-private-key-file=" + c("apiserver.key"),
		"--client-ca-file=" + c("ca.crt"),
		"--token-auth-file=" + c("tokens.csv"),
		"--authorization-mode=RBAC",
		"--service-account-key-file=" + c("sa.pub"), "--service-account-signing-key-file=" + c("sa.key"),
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-cluster-ip-range=10.0.0.0/24",
		"--allow-privileged=true",
		"--audit-policy-file=" + c("audit-policy.yaml"), "--audit-log-path=" + p.Log("audit"),
		"--audit-log-maxsize=100", "--audit-log-maxbackup=1",
	}, nil)
	if err != nil {
		return err
	}
	admin, err := pl.adminHTTP()
	if err != nil {
		return err
	}
	if err := proc.WaitFor(ctx, "kube-apiserver", api, 2*time.Minute, proc.HTTPOK(admin, apiserverURL+"/readyz")); err != nil {
		return err
	}
	if pl.kube, err = kclient.New(p.Kubeconfig()); err != nil {
		return err
	}
	if pl.rest, err = clientcmd.BuildConfigFromFlags("", p.Kubeconfig()); err != nil {
		return err
	}
	go pl.rotateTokens(ctx)

	phase(p, "starting kube-controller-manager, kube-scheduler and kwok")
	k := "--kubeconfig=" + p.Kubeconfig()
	ak := []string{k, "--authentication-kubeconfig=" + p.Kubeconfig(), "--authorization-kubeconfig=" + p.Kubeconfig(), "--bind-address=127.0.0.1", "--leader-elect=false"}
	if _, err := pl.procs.Start("kube-controller-manager", p.Tool("kube-controller-manager"), append(ak,
		"--secure-port=10257",
		// No cloud, no node IPAM or lifecycle: kwok's node is managed by kwok.
		"--controllers=*,-nodeipam,-nodelifecycle,-route,-service,-cloud-node-lifecycle,-ttl,-bootstrapsigner,-tokencleaner",
		"--root-ca-file="+c("ca.crt"), "--service-account-private-key-file="+c("sa.key"),
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
	if err := pl.fakeNode(ctx); err != nil {
		return err
	}

	phase(p, "starting the OCI registry on "+registryAddr+" and the authorization server on "+authServerAddr)
	if err := pl.registry(ctx); err != nil {
		return err
	}
	if err := (install.Installer{Paths: p, Registry: registryAddr}).Restore(); err != nil {
		return err
	}
	if err := pl.authServer(ctx); err != nil {
		return err
	}

	phase(p, "starting Crossplane core (init, then start)")
	if err := pl.crossplane(ctx); err != nil {
		return err
	}
	go pl.packageRuntime(ctx)
	go pl.control(ctx)
	return pl.podRunner(ctx)
}

// podRunner plays kubelet for the proxy-runner and MCP server pods: the real
// thv-proxyrunner runs what the function rendered (package podrunner).
func (pl *plane) podRunner(ctx context.Context) error {
	idpCA, err := os.ReadFile(pl.certFile("idp-ca.crt"))
	if err != nil {
		return err
	}
	r := &podrunner.Runner{
		Kube: pl.kube, Dir: filepath.Join(pl.p.State, "pods"),
		ProxyRunner: pl.p.Tool("thv-proxyrunner"), MCPServer: filepath.Join(pl.p.Bin, "mcpecho"),
		Kubeconfig: pl.kubeconfigFor, ExtraCA: idpCA, Log: os.Stdout,
	}
	if err := os.MkdirAll(r.Dir, 0o750); err != nil {
		return err
	}
	go r.Run(ctx)
	return nil
}

func (pl *plane) certFile(name string) string { return filepath.Join(pl.p.Certs(), name) }

// adminHTTP is an HTTP client that trusts the plane's CA and sends the admin
// token, for health checks.
func (pl *plane) adminHTTP() (*http.Client, error) {
	caPEM, err := os.ReadFile(pl.certFile("ca.crt"))
	if err != nil {
		return nil, err
	}
	token, err := os.ReadFile(pl.certFile("admin.token"))
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

// registry serves an OCI registry on loopback, blobs on disk. Packages are
// pushed by `local install`; a restarted plane needs them pushed again.
func (pl *plane) registry(ctx context.Context) error {
	dir := filepath.Join(pl.p.State, "registry")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", registryAddr)
	if err != nil {
		return fmt.Errorf("cannot serve the registry: %w", err)
	}
	logf, err := os.OpenFile(pl.p.Log("registry"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           registry.New(registry.WithBlobHandler(registry.NewDiskBlobHandler(dir)), registry.Logger(newLogger(logf))),
		ReadHeaderTimeout: 30 * time.Second,
	}
	go func() { _ = srv.Serve(ln) }()
	go func() {
		<-ctx.Done()
		_ = srv.Close()
		_ = logf.Close()
	}()
	return nil
}

// authServer runs a real OAuth 2.0 authorization server with RFC 8693 token
// exchange (zitadel's OpenID provider) for the quick-start example, and
// publishes its CA where the example's ClusterProviderConfig reads it. Its
// CA is the plane's, so what trusted it before a restart trusts it after.
func (pl *plane) authServer(ctx context.Context) error {
	s, err := authserver.Start(ctx, authserver.Options{Addr: authServerAddr, ClientID: idpClientID, ClientSecret: idpSecretValue, DemoLogin: true, CA: pl.ca})
	if err != nil {
		return fmt.Errorf("cannot start the authorization server: %w", err)
	}
	if err := os.WriteFile(pl.certFile("idp-ca.crt"), s.CAPEM, 0o600); err != nil {
		return err
	}
	if err := pl.ensureNamespace(ctx, crossplaneNS); err != nil {
		return err
	}
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: idpCASecret, Namespace: crossplaneNS}}
	err = kclient.CreateOrUpdate(ctx, pl.kube, sec, func() { sec.Data = map[string][]byte{"ca.crt": s.CAPEM} })
	return err
}

func (pl *plane) ensureNamespace(ctx context.Context, name string) error {
	err := pl.kube.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	if err != nil && !kerrors.IsAlreadyExists(err) {
		return fmt.Errorf("cannot create namespace %s: %w", name, err)
	}
	return nil
}
