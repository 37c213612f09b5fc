//go:build integration

// Package integration runs provider-mcp's controllers against a real
// kube-apiserver and etcd (controller-runtime's envtest, with binaries built
// from pinned modules by cluster/tools/build.sh) and a real OAuth 2.0
// authorization server (zitadel's OpenID provider, test/authserver).
package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/crossplane/crossplane-runtime/v2/pkg/controller"
	"github.com/crossplane/crossplane-runtime/v2/pkg/feature"
	"github.com/crossplane/crossplane-runtime/v2/pkg/gate"
	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"
	"github.com/crossplane/crossplane-runtime/v2/pkg/ratelimiter"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/customresourcesgate"
	"github.com/crossplane/crossplane-runtime/v2/pkg/statemetrics"

	"github.com/crossmcp/provider-mcp/apis"
	mcpv1alpha1 "github.com/crossmcp/provider-mcp/apis/v1alpha1"
	mcpcontroller "github.com/crossmcp/provider-mcp/internal/controller"
	"github.com/crossmcp/provider-mcp/internal/controller/externalauthconfig"
	"github.com/crossmcp/provider-mcp/test/authserver"
)

// The shared fixture: one apiserver, one manager, one authorization server.
var (
	kube       client.Client
	idp        *authserver.Server
	kubeconfig []byte
	// mgr is the provider's manager; apiLog its Secret and ConfigMap
	// requests.
	mgr    ctrl.Manager
	apiLog = &requestLog{}
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		fmt.Fprintln(os.Stderr, "KUBEBUILDER_ASSETS is not set: run `make test` (it builds etcd and kube-apiserver first)")
		return 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var err error
	idp, err = authserver.Start(ctx, authserver.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "cannot start the authorization server:", err)
		return 1
	}
	defer idp.Close()

	core, err := coreCRDs()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	env := &envtest.Environment{
		// Our CRDs, and Crossplane's Usage for rendered objects' dry runs.
		CRDDirectoryPaths:     []string{filepath.Join("..", "..", "package", "provider", "crds"), filepath.Join(core, "protection.crossplane.io_usages.yaml")},
		ErrorIfCRDPathMissing: true,
	}
	cfg, err := env.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "cannot start kube-apiserver and etcd:", err)
		return 1
	}
	defer func() { _ = env.Stop() }()
	kubeconfig = env.KubeConfig

	ctrl.SetLogger(logr.Discard())
	s := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(s)
	_ = apiextensionsv1.AddToScheme(s)
	_ = apis.AddToScheme(s)

	mcfg := rest.CopyConfig(cfg)
	mcfg.Wrap(apiLog.wrap)
	mgr, err = ctrl.NewManager(mcfg, ctrl.Options{
		Scheme:                 s,
		Cache:                  mcpcontroller.CacheOptions(time.Hour),
		Client:                 mcpcontroller.ClientOptions(),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "cannot create manager:", err)
		return 1
	}
	// The poll interval is far longer than the bad-input matrix waits for a
	// watched change (badinput_test.go's watched): those must come by watch.
	// The provider's metrics, on controller-runtime's registry as its main
	// puts them; TestMetrics reads them.
	sm := statemetrics.NewMRStateMetrics()
	metrics.Registry.MustRegister(sm)
	o := controller.Options{
		MetricOptions:           &controller.MetricOptions{MRStateMetrics: sm, PollStateMetricInterval: time.Second},
		Logger:                  logging.NewNopLogger(),
		MaxConcurrentReconciles: 5,
		PollInterval:            time.Minute,
		GlobalRateLimiter:       ratelimiter.NewGlobal(100),
		Features:                &feature.Flags{},
		Gate:                    new(gate.Gate[schema.GroupVersionKind]),
	}
	o.Features.Enable(feature.EnableBetaManagementPolicies)
	// The controllers start as the provider's main starts them: gated on
	// their CRDs being established, as safe-start requires.
	if err := customresourcesgate.Setup(mgr, o); err != nil {
		fmt.Fprintln(os.Stderr, "cannot set up the CRD gate:", err)
		return 1
	}
	// A short verify interval lets TestBadInputAuthorizationServer see an
	// authorization server that starts to misbehave under an unchanged
	// config within seconds; a config is still verified at most once per
	// interval, never on every reconcile.
	mcpcontroller.SetupGated(mgr, o, externalauthconfig.Options{VerifyInterval: 2 * time.Second, RetryInterval: 2 * time.Second, HashKey: []byte("integration test config-hash key"), NamespacedPrivateNetworks: true}, func(err error) {
		fmt.Fprintln(os.Stderr, "cannot set up controllers:", err)
		os.Exit(1)
	})
	mgrCtx, stopMgr := context.WithCancel(ctx)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		if err := mgr.Start(mgrCtx); err != nil {
			fmt.Fprintln(os.Stderr, "manager stopped:", err)
		}
	}()
	// Stop the manager before the apiserver, so it does not talk to a
	// server that is gone.
	defer func() {
		stopMgr()
		<-stopped
	}()
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		fmt.Fprintln(os.Stderr, "cache did not sync")
		return 1
	}
	// Tests use a direct client so they see writes at once.
	kube, err = client.New(cfg, client.Options{Scheme: s})
	if err != nil {
		fmt.Fprintln(os.Stderr, "cannot create client:", err)
		return 1
	}
	if err := setup(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "cannot create the fixture objects:", err)
		return 1
	}
	return m.Run()
}

// setup creates what every test shares: the CA bundle of the test server and
// the example's default ClusterProviderConfig, allowed to reach it.
func setup(ctx context.Context) error {
	pc := &mcpv1alpha1.ClusterProviderConfig{}
	if err := readExample("providerconfig.yaml", pc); err != nil {
		return err
	}
	pc.Spec.AllowedTokenHosts = []string{"127.0.0.1"}
	// The test server listens on loopback.
	pc.Spec.AllowPrivateNetworks = true
	for _, o := range []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "crossplane-system"}},
		&corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: "crossplane-system", Name: "idp-ca"},
			Data:       map[string][]byte{"ca.crt": idp.CAPEM},
		},
		pc,
	} {
		if err := kube.Create(ctx, o); err != nil {
			return err
		}
	}
	return nil
}
