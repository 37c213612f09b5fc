package main

import (
	"context"
	"crypto/x509"
	"encoding/pem"
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

	pkgv1 "github.com/crossplane/crossplane/apis/v2/pkg/v1"

	"github.com/crossmcp/provider-mcp/cluster/local/kclient"
	"github.com/crossmcp/provider-mcp/cluster/local/proc"
	"github.com/crossmcp/provider-mcp/internal/pki"
)

const (
	webhookService   = "crossplane-webhooks"
	rootCASecret     = "crossplane-root-ca"
	tlsClientSecret  = "crossplane-tls-client"
	tlsServerSecret  = "crossplane-tls-server"
	labelPackageName = "pkg.crossplane.io/package"
)

// crossplane runs `crossplane core init` until it succeeds (its first run
// fails on the Lock while its CRDs establish), then `core start` with the
// External package runtime and its webhooks on, reachable from the
// apiserver through an ExternalName Service that points at 127.0.0.1.
func (pl *plane) crossplane(ctx context.Context) error {
	core, err := moduleDir("crossplane-core", "github.com/crossplane/crossplane/v2")
	if err != nil {
		return err
	}
	if err := pl.crossplaneIdentities(ctx); err != nil {
		return err
	}
	kubeconfig, err := pl.kubeconfigFor(ctx, crossplaneNS, crossplaneSA)
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
		_ = appendLog(pl.p.Log("crossplane-init"), out)
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
		if err := pl.secretToDir(ctx, secret, dir); err != nil {
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
	kubeconfig, err := pl.kubeconfigFor(ctx, crossplaneNS, rbacManagerSA)
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

// secretToDir writes a TLS secret's ca.crt, tls.crt and tls.key to dir.
func (pl *plane) secretToDir(ctx context.Context, name, dir string) error {
	s := &corev1.Secret{}
	if err := pl.kube.Get(ctx, client.ObjectKey{Namespace: crossplaneNS, Name: name}, s); err != nil {
		return fmt.Errorf("cannot read secret %s: %w", name, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for _, k := range []string{"ca.crt", "tls.crt", "tls.key"} {
		if err := os.WriteFile(filepath.Join(dir, k), s.Data[k], 0o600); err != nil {
			return err
		}
	}
	return nil
}

func appendLog(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.Write(b)
	return err
}

// runtimeFor says which of our binaries runs a package, by the package's
// object name (its repository path as a DNS label).
func runtimeFor(pkg string) (name string, ok bool) {
	switch {
	case strings.HasSuffix(pkg, "function-mcp-server"):
		return "function", true
	case strings.HasSuffix(pkg, "provider-mcp"):
		return "provider", true
	}
	return "", false
}

// packageRuntime plays Crossplane's package runtime for our provider and
// function, which Crossplane runs with the External runtime: for each active
// revision it creates the TLS server secret (signed by Crossplane's root CA,
// for 127.0.0.1), reports the endpoint and runtime health on the revision,
// and runs our binary as a local process. It loops, so new revisions are
// served too, and a process that dies is started again.
func (pl *plane) packageRuntime(ctx context.Context) {
	for {
		if err := pl.runtimeOnce(ctx); err != nil && ctx.Err() == nil {
			_ = appendLog(pl.p.Log("package-runtime"), []byte(time.Now().Format(time.RFC3339)+" "+err.Error()+"\n"))
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(runtimeLoop):
		}
	}
}

// runtimeLoop is how often the package runtime looks at revisions and
// processes.
const runtimeLoop = 2 * time.Second

func (pl *plane) runtimeOnce(ctx context.Context) error {
	fl := &pkgv1.FunctionRevisionList{}
	if err := pl.kube.List(ctx, fl); err != nil {
		return err
	}
	pl2 := &pkgv1.ProviderRevisionList{}
	if err := pl.kube.List(ctx, pl2); err != nil {
		return err
	}
	var revs []pkgv1.PackageRevisionWithRuntime
	for i := range fl.Items {
		revs = append(revs, &fl.Items[i])
	}
	for i := range pl2.Items {
		revs = append(revs, &pl2.Items[i])
	}
	for _, r := range revs {
		parent := r.GetLabels()[labelPackageName]
		bin, ok := runtimeFor(parent)
		if !ok {
			continue
		}
		if r.GetDesiredState() != pkgv1.PackageRevisionActive {
			if pr, ok := r.(*pkgv1.ProviderRevision); ok {
				if err := pl.retireProviderRevision(ctx, pr); err != nil {
					return fmt.Errorf("revision %s: %w", r.GetName(), err)
				}
			}
			continue
		}
		if err := pl.serveRevision(ctx, r, parent, bin); err != nil {
			return fmt.Errorf("revision %s: %w", r.GetName(), err)
		}
	}
	return nil
}

func (pl *plane) serveRevision(ctx context.Context, r pkgv1.PackageRevisionWithRuntime, parent, bin string) error {
	// The name the Deployment runtime would give it: with the External
	// runtime the package manager leaves spec.tlsServerSecretName empty.
	secretName := pkgv1.GetSecretNameWithSuffix(parent, pkgv1.TLSServerSecretNameSuffix)
	dir := filepath.Join(pl.p.Certs(), bin)
	if err := pl.tlsServerSecret(ctx, *secretName); err != nil {
		return err
	}
	changed := false
	if o := r.GetObservedTLSServerSecretName(); o == nil || *o != *secretName {
		r.SetObservedTLSServerSecretName(secretName)
		changed = true
	}
	if fr, ok := r.(*pkgv1.FunctionRevision); ok && fr.Status.Endpoint != "dns:///"+functionAddr {
		fr.Status.Endpoint = "dns:///" + functionAddr
		changed = true
	}
	if r.GetCondition(pkgv1.TypeRuntimeHealthy).Status != corev1.ConditionTrue && pl.serving(ctx, bin) {
		r.SetConditions(pkgv1.RuntimeHealthy())
		changed = true
	}
	if changed {
		if err := pl.kube.Status().Update(ctx, r); err != nil && !kerrors.IsConflict(err) {
			return fmt.Errorf("cannot report the runtime on the revision: %w", err)
		}
	}
	// The provider runs as the ServiceAccount Crossplane would give it; a
	// provider running as another one (an upgrade changed it) restarts.
	var sa string
	if pr, ok := r.(*pkgv1.ProviderRevision); ok {
		var err error
		if sa, err = pl.providerIdentity(ctx, pr); err != nil {
			return err
		}
		if pl.procs.Running(bin) && pl.runsAs[bin] != sa {
			pl.procs.Stop(bin, 10*time.Second)
		}
	}
	// local hold: the process stays down until local release. The pid file
	// goes too, which is how hold knows the process is down.
	if held(pl.p, bin) {
		if pl.procs.Running(bin) {
			pl.procs.Stop(bin, 10*time.Second)
		}
		_ = os.Remove(pl.p.PidFile(bin))
		return nil
	}
	// make run rebuilds our binaries: run the new one.
	if pl.procs.Stale(bin) {
		pl.procs.Stop(bin, 10*time.Second)
	}
	if pl.procs.Running(bin) {
		return nil
	}
	var args, env []string
	switch bin {
	case "function":
		args = []string{"--address=" + functionAddr, "--tls-certs-dir=" + dir}
		// It needs no Kubernetes access and gets none.
		env = []string{"KUBECONFIG="}
	case "provider":
		args = providerArgs()
		// Start it once the RBAC manager has bound its rights, as a pod
		// would be restarted until it had them.
		bound, err := pl.providerBound(ctx, sa)
		if err != nil {
			return err
		}
		if !bound {
			return fmt.Errorf("waiting for Crossplane's RBAC manager to bind the provider's ClusterRole to service account %s/%s", crossplaneNS, sa)
		}
		kubeconfig, err := pl.kubeconfigFor(ctx, crossplaneNS, sa)
		if err != nil {
			return err
		}
		// As Crossplane's package runtime sets it for a provider's pod.
		env = []string{"KUBECONFIG=" + kubeconfig, "POD_NAMESPACE=" + crossplaneNS}
	}
	// The certificates go to disk only when the process starts: this loop
	// runs every two seconds.
	if err := pl.secretToDir(ctx, *secretName, dir); err != nil {
		return err
	}
	if _, err := pl.procs.Start(bin, pl.p.Binary(bin), args, env); err != nil {
		return err
	}
	pl.runsAs[bin] = sa
	return nil
}

// tlsServerSecret makes sure the package's TLS server secret exists, signed
// by Crossplane's root CA for 127.0.0.1 (core dials the function there and
// checks the IP SAN).
func (pl *plane) tlsServerSecret(ctx context.Context, name string) error {
	s := &corev1.Secret{}
	err := pl.kube.Get(ctx, client.ObjectKey{Namespace: crossplaneNS, Name: name}, s)
	if err != nil && !kerrors.IsNotFound(err) {
		return err
	}
	if !servesLoopback(s.Data["tls.crt"]) {
		root := &corev1.Secret{}
		if err := pl.kube.Get(ctx, client.ObjectKey{Namespace: crossplaneNS, Name: rootCASecret}, root); err != nil {
			return fmt.Errorf("cannot read Crossplane's root CA: %w", err)
		}
		ca, err := pki.LoadCA(root.Data["tls.crt"], root.Data["tls.key"])
		if err != nil {
			return err
		}
		pair, err := ca.Issue(pki.Leaf{CommonName: name, IPs: pki.Loopback, DNSNames: []string{"localhost"}, Server: true, Client: true, ValidFor: 365 * 24 * time.Hour})
		if err != nil {
			return err
		}
		s.Name, s.Namespace = name, crossplaneNS
		s.Type = corev1.SecretTypeTLS
		s.Data = map[string][]byte{"tls.crt": pair.CertPEM, "tls.key": pair.KeyPEM, "ca.crt": ca.PEM}
		if s.ResourceVersion == "" {
			err = pl.kube.Create(ctx, s)
		} else {
			err = pl.kube.Update(ctx, s)
		}
		if err != nil {
			return fmt.Errorf("cannot write TLS secret %s: %w", name, err)
		}
	}
	return nil
}

// servesLoopback reports whether a PEM certificate is valid for 127.0.0.1.
func servesLoopback(certPEM []byte) bool {
	b, _ := pem.Decode(certPEM)
	if b == nil {
		return false
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return false
	}
	return c.VerifyHostname("127.0.0.1") == nil && time.Now().Before(c.NotAfter)
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
