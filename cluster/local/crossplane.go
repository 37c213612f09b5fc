package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/crossmcp/provider-mcp/cluster/local/kclient"
	"github.com/crossmcp/provider-mcp/cluster/local/pkgruntime"
	"github.com/crossmcp/provider-mcp/cluster/local/proc"
)

const (
	webhookService  = "crossplane-webhooks"
	rootCASecret    = "crossplane-root-ca"
	tlsClientSecret = "crossplane-tls-client"
	tlsServerSecret = "crossplane-tls-server"
)

// crossplane runs `crossplane core init` until it succeeds (its first run
// fails on the Lock while its CRDs establish), then `core start` with the
// External package runtime and its webhooks on, reachable from the
// apiserver through an ExternalName Service that points at 127.0.0.1.
func (pl *plane) crossplane(ctx context.Context) error {
	core, err := moduleDir("plane", "github.com/crossplane/crossplane/v2")
	if err != nil {
		return err
	}
	if err := pl.crossplaneIdentities(ctx); err != nil {
		return err
	}
	kubeconfig, err := pl.ids.Kubeconfig(ctx, crossplaneNS, crossplaneSA)
	if err != nil {
		return err
	}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: webhookService, Namespace: crossplaneNS}}
	if err := kclient.CreateOrUpdate(ctx, pl.kube, svc, func() {
		svc.Spec = corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "127.0.0.1",
			Ports: []corev1.ServicePort{{Name: "webhooks", Port: 9444, Protocol: corev1.ProtocolTCP}}}
	}); err != nil {
		return fmt.Errorf("cannot create the webhook Service: %w", err)
	}
	env := []string{
		"KUBECONFIG=" + kubeconfig, "POD_NAMESPACE=" + crossplaneNS,
		"CRDS_PATH=" + filepath.Join(core, "cluster", "crds"),
		"WEBHOOK_CONFIGS_PATH=" + filepath.Join(core, "cluster", "webhookconfigurations"),
		"ENABLE_WEBHOOKS=true", "WEBHOOK_SERVICE_NAME=" + webhookService, "WEBHOOK_SERVICE_NAMESPACE=" + crossplaneNS,
		"WEBHOOK_SERVICE_PORT=" + webhookPort,
		"TLS_CA_SECRET_NAME=" + rootCASecret, "TLS_SERVER_SECRET_NAME=" + tlsServerSecret, "TLS_CLIENT_SECRET_NAME=" + tlsClientSecret,
	}
	bin := pl.p.Tool("crossplane-core")
	if err := proc.WaitFor(ctx, "crossplane core init", nil, 3*time.Minute, func(ctx context.Context) error {
		cmd := exec.CommandContext(ctx, bin, "core", "init", "--activation=*")
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		_ = pl.p.AppendLog("crossplane-init", out)
		if err != nil {
			return fmt.Errorf("crossplane core init: %w", err)
		}
		return nil
	}); err != nil {
		return err
	}
	if err := pl.rbacManager(ctx, bin); err != nil {
		return err
	}
	clientDir, serverDir := filepath.Join(pl.p.Certs(), "crossplane-client"), filepath.Join(pl.p.Certs(), "crossplane-server")
	for dir, secret := range map[string]string{clientDir: tlsClientSecret, serverDir: tlsServerSecret} {
		if err := pkgruntime.SecretToDir(ctx, pl.kube, crossplaneNS, secret, dir); err != nil {
			return err
		}
	}
	xp, err := pl.procs.Start("crossplane", bin, []string{"core", "start", "--enable-dependency-version-upgrades", "--poll-interval=" + pollInterval()}, append(env,
		"TLS_CLIENT_CERTS_DIR="+clientDir, "TLS_SERVER_CERTS_DIR="+serverDir,
		"XPKG_CACHE_DIR="+filepath.Join(pl.p.State, "xpkg-cache"),
		"PACKAGE_RUNTIME=Provider=External;Function=External",
		"WEBHOOK_PORT="+webhookPort, "METRICS_PORT="+coreMetricsPort, "HEALTH_PROBE_PORT="+coreHealthPort,
	))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(pl.p.State, "xpkg-cache"), 0o750); err != nil {
		return err
	}
	return proc.WaitFor(ctx, "crossplane", xp, 2*time.Minute, proc.HTTPOK(&http.Client{Timeout: 5 * time.Second}, "http://127.0.0.1:"+coreHealthPort+"/healthz"))
}

// rbacManager runs Crossplane's RBAC manager as its own service account, as
// the chart does: it renders ClusterRoles for XRDs and provider revisions and
// binds each provider revision's system ClusterRole to the ServiceAccount of
// the Deployment the revision owns (providerIdentity makes that Deployment).
func (pl *plane) rbacManager(ctx context.Context, bin string) error {
	kubeconfig, err := pl.ids.Kubeconfig(ctx, crossplaneNS, rbacManagerSA)
	if err != nil {
		return err
	}
	rm, err := pl.procs.Start("crossplane-rbac-manager", bin, []string{"rbac", "start", "--provider-clusterrole=crossplane:allowed-provider-permissions"},
		[]string{"KUBECONFIG=" + kubeconfig, "POD_NAMESPACE=" + crossplaneNS})
	if err != nil {
		return err
	}
	return proc.WaitFor(ctx, "crossplane rbac manager", rm, 2*time.Minute, proc.HTTPOK(&http.Client{Timeout: 5 * time.Second}, "http://127.0.0.1:"+rbacManagerMetricsPort+"/metrics"))
}

// providerArgs are the provider's flags. LOCAL_VERIFY_INTERVAL and
// LOCAL_VERIFY_RETRY_INTERVAL, when set, shorten how often it re-verifies
// unchanged configs and retries failed ones (10m and 30s), so the e2e can
// watch an authorization server go away and come back.
func providerArgs() []string {
	args := []string{"--poll=" + pollInterval(), "--metrics-bind-address=" + providerMetrics, "--health-probe-bind-address=" + providerHealth}
	for _, f := range []struct{ flag, env string }{
		{"--verify-interval", "LOCAL_VERIFY_INTERVAL"}, {"--verify-retry-interval", "LOCAL_VERIFY_RETRY_INTERVAL"},
	} {
		if v := os.Getenv(f.env); v != "" {
			args = append(args, f.flag+"="+v)
		}
	}
	return args
}

// pollInterval is how often Crossplane and the provider re-check resources
// that did not change: 1m, or LOCAL_POLL (the e2e shortens it to measure
// steady state in less time).
func pollInterval() string {
	if v := os.Getenv("LOCAL_POLL"); v != "" {
		return v
	}
	return "1m"
}

// packageRuntime runs our provider and function for Crossplane's External
// package runtime (package pkgruntime).
func (pl *plane) packageRuntime(ctx context.Context) {
	r := &pkgruntime.Runtime{
		Kube: pl.kube, Procs: pl.procs, Paths: pl.p, Kubeconfig: pl.ids.Kubeconfig,
		Namespace: crossplaneNS, RootCASecret: rootCASecret, FunctionAddr: functionAddr,
		ProviderArgs: providerArgs(), ProviderHealth: providerHealth,
	}
	r.Run(ctx)
}
