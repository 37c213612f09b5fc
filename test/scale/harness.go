package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/crossmcp/provider-mcp/apis"
	authv1alpha1 "github.com/crossmcp/provider-mcp/apis/auth/v1alpha1"
	"github.com/crossmcp/provider-mcp/test/scale/report"
)

const (
	ns      = "scale"
	floorNS = "scale-floor"
	// The plane's provider: its metrics endpoint and its settings.
	providerMetrics  = "http://127.0.0.1:18082/metrics"
	xrAPIVersion     = "platform.crossmcp.io/v1alpha1"
	clientSecretKey  = "client-secret"
	idpClientSecret  = "local-demo-secret"
	workers          = 10 // the harness's, creating inputs
	unrelatedNS      = "bench-unrelated"
	unrelatedSize    = 10 << 10
	pollEvery        = 50 * time.Millisecond
	floorGroup       = "floor.scale.crossmcp.io"
	eacCRD           = "package/provider/crds/auth.mcp.crossmcp.io_externalauthconfigs.yaml"
	exampleConfig    = "examples/complete/externalauthconfig.yaml"
	exampleXR        = "examples/complete/xr.yaml"
	exampleProviderC = "examples/complete/providerconfig.yaml"
)

// harness measures one plane.
type harness struct {
	c     *cli
	rate  int // the provider's --max-reconcile-rate
	cfg   *rest.Config
	user  client.Client // what people and GitOps tools do: unthrottled
	watch client.Reader // a cache of the objects being measured
	state string

	// The examples every config and MCPServer is made from, read once.
	config *authv1alpha1.ExternalAuthConfig
	xr     *unstructured.Unstructured
}

func newHarness(ctx context.Context, c *cli) (*harness, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(c.State, "kubeconfig"))
	if err != nil {
		return nil, err
	}
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, apiextensionsv1.AddToScheme, apis.AddToScheme} {
		if err := add(s); err != nil {
			return nil, err
		}
	}
	unlimited := rest.CopyConfig(cfg)
	unlimited.QPS, unlimited.Burst = -1, 0
	user, err := client.New(unlimited, client.Options{Scheme: s})
	if err != nil {
		return nil, err
	}
	cc, err := cache.New(unlimited, cache.Options{Scheme: s, DefaultNamespaces: map[string]cache.Config{ns: {}}})
	if err != nil {
		return nil, err
	}
	// The provider's CRDs may be established a moment after local install
	// returns, before discovery serves them.
	for _, o := range []client.Object{&authv1alpha1.ExternalAuthConfig{}, &corev1.Secret{}, &appsv1.Deployment{}} {
		if err := wait.PollUntilContextTimeout(ctx, time.Second, time.Minute, true, func(ctx context.Context) (bool, error) {
			_, err := cc.GetInformer(ctx, o)
			return err == nil, nil
		}); err != nil {
			return nil, fmt.Errorf("cannot watch %T: %w", o, err)
		}
	}
	go func() { _ = cc.Start(ctx) }()
	if !cc.WaitForCacheSync(ctx) {
		return nil, errors.New("cannot sync the harness's cache")
	}
	rate, err := providerRate(filepath.Join(c.State, "logs", "provider.log"))
	if err != nil {
		return nil, err
	}
	config, xr := &authv1alpha1.ExternalAuthConfig{}, &unstructured.Unstructured{}
	if err := readYAML(exampleConfig, config); err != nil {
		return nil, err
	}
	if err := readYAML(exampleXR, &xr.Object); err != nil {
		return nil, err
	}
	return &harness{c: c, rate: rate, cfg: cfg, user: user, watch: cc, state: c.State, config: config, xr: xr}, nil
}

func (h *harness) run(ctx context.Context, r *report.Report) error {
	if err := h.apply(ctx, exampleProviderC); err != nil {
		return err
	}
	for _, n := range []string{ns, floorNS} {
		if err := h.user.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n}}); err != nil && !kerrors.IsAlreadyExists(err) {
			return err
		}
	}
	if err := h.issuerCA(ctx); err != nil {
		return err
	}
	logf("%d unrelated Secrets", h.c.Unrelated)
	if err := h.unrelated(ctx); err != nil {
		return err
	}

	// The floor's CRD goes in first, so the API server has settled by the
	// time the floor is timed.
	floorGVK, err := h.installFloorCRD(ctx)
	if err != nil {
		return err
	}

	logf("convergence of %d ExternalAuthConfigs", h.c.Configs)
	before, err := providerRequests(ctx)
	if err != nil {
		return err
	}
	took, err := h.converge(ctx)
	if err != nil {
		return err
	}
	after, err := providerRequests(ctx)
	if err != nil {
		return err
	}
	conv := &report.Convergence{Configs: h.c.Configs, Provider: report.Of(took), Requests: since(before, after), UnrelatedSecrets: h.c.Unrelated}
	r.Convergence = conv

	logf("steady state for two poll intervals (%s)", 2*h.c.Poll)
	if r.Steady, err = h.steady(ctx); err != nil {
		return err
	}
	if conv.PeakRSSMiB, err = h.providerPeakRSS(); err != nil {
		return err
	}

	logf("floor: a plain client making the same writes")
	floor, err := h.floor(ctx, floorGVK)
	if err != nil {
		return err
	}
	conv.Floor = report.Of(floor)

	logf("throughput of %d MCPServers", h.c.Servers)
	took, err = h.throughput(ctx)
	if err != nil {
		return err
	}
	r.Throughput = &report.Throughput{Servers: h.c.Servers, AllReady: report.Of(took)}

	logf("%d rotations", h.c.Rotations)
	if r.Rotation, err = h.rotations(ctx); err != nil {
		return err
	}
	r.Notes = h.notes()
	return nil
}

func (h *harness) notes() []string {
	c := h.c
	return []string{
		fmt.Sprintf("Everything runs on the embedded control plane (cluster/local) on this machine: etcd, kube-apiserver, the pod runner playing kubelet for one node, Crossplane core, the provider and the function as local processes, all sharing its %d cores with this harness.", runtimeCores()),
		fmt.Sprintf("Convergence: the harness creates %d client Secrets and %d ExternalAuthConfigs (examples/complete's, each with its own Secret) with %d workers and no client-side throttling, and stops the clock when every config is Ready and its connection secret exists. The provider runs with its defaults (--max-reconcile-rate=%d) and verifies each config against the plane's authorization server: discovery for all, the RFC 8693 credential probe for the %d not later rotated.", c.Configs, c.Configs, workers, h.rate, c.Configs-c.Servers),
		fmt.Sprintf("Floor: the same inputs created the same way, of a controller-less copy of the ExternalAuthConfig CRD (group %s), while a plain client with the provider's REST limits (%d QPS, burst %d) and concurrency (%d workers) creates each connection secret and writes each status, copied from the provider's, as soon as its input exists.", floorGroup, h.rate*5, h.rate*10, h.rate),
		fmt.Sprintf("Peak RSS: VmHWM of the provider process, read after convergence and steady state. %d Secrets of %d KiB that no config references are in the cluster (namespace %s) before the provider sees the first config: it watches Secrets' names only and reads the ones its configs reference.", c.Unrelated, unrelatedSize>>10, unrelatedNS),
		fmt.Sprintf("Steady state: the provider's own client-go request counter (rest_client_requests_total on its metrics endpoint) before and after two poll intervals (--poll=%s), settled first.", c.Poll),
		fmt.Sprintf("Throughput: %d MCPServers (examples/complete's, each using its own config) created at once; the clock stops when all are Ready, which needs their Deployments Available on the plane's node and the MCP server StatefulSet each real proxy runner creates ready.", c.Servers),
		fmt.Sprintf("Rotation: %d rotations, each of a different MCPServer's client Secret, one after the other: the time from the Secret update to the Deployment's pod-template annotation carrying the config's new hash. The provider's share is the time to the config's new hash in its status; the rest is Crossplane re-running the composition and applying the Deployment. Each MCPServer is rotated once because Crossplane's per-XR circuit breaker throttles an XR whose composed resources send bursts of watch events (a rollout sends a burst of them, about 25 when measured with kwok).", c.Rotations),
	}
}

// apply creates or updates the objects of a YAML file in the repository.
func (h *harness) apply(ctx context.Context, file string) error {
	u := &unstructured.Unstructured{}
	if err := readYAML(file, &u.Object); err != nil {
		return err
	}
	if err := h.user.Create(ctx, u); err != nil && !kerrors.IsAlreadyExists(err) {
		return fmt.Errorf("cannot create %s: %w", file, err)
	}
	return nil
}

func readYAML(file string, into any) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	return yaml.Unmarshal(b, into)
}

func (h *harness) until(ctx context.Context, timeout time.Duration, cond wait.ConditionWithContextFunc) error {
	return wait.PollUntilContextTimeout(ctx, pollEvery, timeout, true, cond)
}

// parallel runs f for 0..n-1 on up to w goroutines; the first error wins.
func parallel(ctx context.Context, n, w int, f func(int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	go func() {
		defer close(next)
		for i := range n {
			select {
			case next <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for range w {
		wg.Go(func() {
			for i := range next {
				if err := f(i); err != nil {
					cancel(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return context.Cause(ctx)
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
