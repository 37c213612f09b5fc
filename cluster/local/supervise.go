package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossmcp/provider-mcp/cluster/local/certs"
	"github.com/crossmcp/provider-mcp/cluster/local/identity"
	"github.com/crossmcp/provider-mcp/cluster/local/install"
	"github.com/crossmcp/provider-mcp/cluster/local/kclient"
	"github.com/crossmcp/provider-mcp/cluster/local/proc"
	"github.com/crossmcp/provider-mcp/test/pki"
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
	nodeName       = "local-node"
	idpCASecret    = "local-idp-ca"
	idpClientID    = "mcp-proxy"
	idpSecretValue = "local-demo-secret"
)

// superviseCmd runs the plane in the foreground until it is signalled.
type superviseCmd struct{}

// plane is the running control plane.
type plane struct {
	p     *paths
	procs *proc.Set
	kube  client.Client
	ca    *pki.CA
	ids   *identity.Issuer
}

func (s *superviseCmd) Run(p *paths) error {
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer cancel()
	if err := os.WriteFile(p.PidFile("supervisor"), []byte(fmt.Sprint(os.Getpid())), 0o600); err != nil {
		return err
	}
	defer os.Remove(p.PidFile("supervisor"))

	pl := &plane{p: p, procs: proc.NewSet(p)}
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
	var err error
	if pl.ca, err = certs.Ensure(p.Certs(), p.Kubeconfig(), apiserverURL); err != nil {
		return err
	}
	phase(p, "starting etcd")
	if err := pl.etcd(ctx); err != nil {
		return err
	}
	phase(p, "starting kube-apiserver")
	if err := pl.apiserver(ctx); err != nil {
		return err
	}
	if pl.kube, err = kclient.New(p.Kubeconfig()); err != nil {
		return err
	}
	if err := pl.identities(ctx); err != nil {
		return err
	}
	phase(p, "starting kube-controller-manager and kube-scheduler, registering the node")
	if err := pl.controllers(ctx); err != nil {
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

func (pl *plane) certFile(name string) string { return filepath.Join(pl.p.Certs(), name) }

func (pl *plane) ensureNamespace(ctx context.Context, name string) error {
	err := pl.kube.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	if err != nil && !kerrors.IsAlreadyExists(err) {
		return fmt.Errorf("cannot create namespace %s: %w", name, err)
	}
	return nil
}
