package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/procfs"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/crossplane/crossplane-runtime/v2/pkg/ratelimiter"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/crossmcp/provider-mcp/apis"
	authv1alpha1 "github.com/crossmcp/provider-mcp/apis/auth/v1alpha1"
	"github.com/crossmcp/provider-mcp/internal/function/render"
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
	conv := &report.Convergence{Configs: h.c.Configs, Provider: report.Of(took), Requests: since(before, after)}
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
		fmt.Sprintf("Everything runs on the embedded control plane (cluster/local) on this machine: etcd, kube-apiserver, kwok, Crossplane core, the provider and the function as local processes, all sharing its %d cores with this harness.", runtimeCores()),
		fmt.Sprintf("Convergence: the harness creates %d client Secrets and %d ExternalAuthConfigs (examples/complete's, each with its own Secret) with %d workers and no client-side throttling, and stops the clock when every config is Ready and its connection secret exists. The provider runs with its defaults (--max-reconcile-rate=%d) and verifies each config against the plane's authorization server: discovery for all, the RFC 8693 credential probe for the %d not later rotated.", c.Configs, c.Configs, workers, h.rate, c.Configs-c.Servers),
		fmt.Sprintf("Floor: the same inputs created the same way, of a controller-less copy of the ExternalAuthConfig CRD (group %s), while a plain client with the provider's REST limits (%d QPS, burst %d) and concurrency (%d workers) creates each connection secret and writes each status, copied from the provider's, as soon as its input exists.", floorGroup, h.rate*5, h.rate*10, h.rate),
		"Peak RSS: VmHWM of the provider process, read after convergence and steady state.",
		fmt.Sprintf("Steady state: the provider's own client-go request counter (rest_client_requests_total on its metrics endpoint) before and after two poll intervals (--poll=%s), settled first.", c.Poll),
		fmt.Sprintf("Throughput: %d MCPServers (examples/complete's, each using its own config) created at once; the clock stops when all are Ready, which needs their Deployments Available on kwok and the MCP server StatefulSet each real proxy runner creates ready.", c.Servers),
		fmt.Sprintf("Rotation: %d rotations, each of a different MCPServer's client Secret, one after the other: the time from the Secret update to the Deployment's pod-template annotation carrying the config's new hash. The provider's share is the time to the config's new hash in its status; the rest is Crossplane re-running the composition and applying the Deployment. Each MCPServer is rotated once because Crossplane's per-XR circuit breaker throttles an XR whose composed resources send bursts of watch events (a kwok rollout sends about 25).", c.Rotations),
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

func configName(i int) string { return fmt.Sprintf("cfg-%04d", i) }
func serverName(i int) string { return fmt.Sprintf("srv-%04d", i) }

// inputs are config i's client Secret and ExternalAuthConfig. The configs
// MCPServers use are rotated later, so their credential probe is off: the
// plane's authorization server knows one client secret only.
func (h *harness) inputs(i int) (*corev1.Secret, *authv1alpha1.ExternalAuthConfig) {
	name := configName(i)
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "-client"},
		Data:       map[string][]byte{clientSecretKey: []byte(idpClientSecret)},
	}
	c := h.config.DeepCopy()
	c.Namespace, c.Name, c.Annotations = ns, name, nil
	c.Spec.WriteConnectionSecretToReference.Name = name + "-token-exchange"
	c.Spec.ForProvider.TokenExchange.ClientSecretRef.Name = s.Name
	if i < h.c.Servers {
		off := false
		c.Spec.ForProvider.TokenExchange.Verification = &authv1alpha1.VerificationPolicy{CredentialProbe: &off}
	}
	return s, c
}

// input is config i as created, with its resourceVersion.
type input struct {
	i   int
	obj client.Object
}

// createInputs creates every config's inputs with a few workers, in
// namespace at, as kind (nil: the real ExternalAuthConfig), and tells done
// of each config created.
func (h *harness) createInputs(ctx context.Context, at string, as func(*authv1alpha1.ExternalAuthConfig) (client.Object, error), done chan<- input) error {
	return parallel(ctx, h.c.Configs, workers, func(i int) error {
		s, c := h.inputs(i)
		s.Namespace, c.Namespace = at, at
		var o client.Object = c
		if as != nil {
			var err error
			if o, err = as(c); err != nil {
				return err
			}
		}
		for _, o := range []client.Object{s, o} {
			if err := h.user.Create(ctx, o); err != nil {
				return fmt.Errorf("cannot create %s: %w", o.GetName(), err)
			}
		}
		if done != nil {
			done <- input{i: i, obj: o}
		}
		return nil
	})
}

// converge times the provider from the first input created to every config
// Ready with its connection secret.
func (h *harness) converge(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	if err := h.createInputs(ctx, ns, nil, nil); err != nil {
		return 0, err
	}
	err := h.until(ctx, 10*time.Minute, func(ctx context.Context) (bool, error) {
		for i := range h.c.Configs {
			c := &authv1alpha1.ExternalAuthConfig{}
			if err := h.watch.Get(ctx, client.ObjectKey{Namespace: ns, Name: configName(i)}, c); err != nil {
				return false, client.IgnoreNotFound(err)
			}
			if c.GetCondition(xpv2.TypeReady).Status != corev1.ConditionTrue {
				return false, nil
			}
			s := &corev1.Secret{}
			if err := h.watch.Get(ctx, client.ObjectKey{Namespace: ns, Name: c.Spec.WriteConnectionSecretToReference.Name}, s); err != nil {
				return false, client.IgnoreNotFound(err)
			}
		}
		return true, nil
	})
	return time.Since(start), err
}

// floor times a plain client making the provider's writes: for each config
// whose inputs exist, create its connection secret and write its status.
func (h *harness) floor(ctx context.Context, gvk schema.GroupVersionKind) (time.Duration, error) {
	writer, err := client.New(ratelimiter.LimitRESTConfig(h.cfg, h.rate), client.Options{Scheme: h.user.Scheme()})
	if err != nil {
		return 0, err
	}
	as := func(c *authv1alpha1.ExternalAuthConfig) (client.Object, error) {
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(c)
		if err != nil {
			return nil, err
		}
		u := &unstructured.Unstructured{Object: m}
		u.SetGroupVersionKind(gvk)
		return u, nil
	}

	created := make(chan input, h.c.Configs)
	start := time.Now()
	var inErr error
	go func() {
		inErr = h.createInputs(ctx, floorNS, as, created)
		close(created)
	}()
	var wg sync.WaitGroup
	errs := make(chan error, h.rate)
	for range h.rate {
		wg.Go(func() {
			for in := range created {
				if err := h.floorWrites(ctx, writer, in); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	close(errs)
	for err := range errs {
		return 0, err
	}
	return took, inErr
}

// floorWrites makes a config's two writes, with the provider's data, on the
// object as created: a controller would have it from its cache.
func (h *harness) floorWrites(ctx context.Context, writer client.Client, in input) error {
	real := &authv1alpha1.ExternalAuthConfig{}
	if err := h.watch.Get(ctx, client.ObjectKey{Namespace: ns, Name: configName(in.i)}, real); err != nil {
		return err
	}
	conn := &corev1.Secret{}
	if err := h.watch.Get(ctx, client.ObjectKey{Namespace: ns, Name: real.Spec.WriteConnectionSecretToReference.Name}, conn); err != nil {
		return err
	}
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: floorNS, Name: conn.Name},
		Type:       conn.Type,
		Data:       conn.Data,
	}
	if err := writer.Create(ctx, s); err != nil {
		return fmt.Errorf("floor: cannot create connection secret: %w", err)
	}
	st, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&real.Status)
	if err != nil {
		return err
	}
	u, ok := in.obj.(*unstructured.Unstructured)
	if !ok {
		return fmt.Errorf("floor: config %d is a %T", in.i, in.obj)
	}
	u.Object["status"] = st
	if err := writer.Status().Update(ctx, u); err != nil {
		return fmt.Errorf("floor: cannot write status: %w", err)
	}
	return nil
}

// installFloorCRD installs the ExternalAuthConfig CRD under another group,
// so the floor writes objects of the same shape that no controller watches.
func (h *harness) installFloorCRD(ctx context.Context) (gvk schema.GroupVersionKind, err error) {
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := readYAML(eacCRD, crd); err != nil {
		return gvk, err
	}
	crd.Spec.Group = floorGroup
	crd.Name = crd.Spec.Names.Plural + "." + floorGroup
	if err := h.user.Create(ctx, crd); err != nil && !kerrors.IsAlreadyExists(err) {
		return gvk, err
	}
	err = h.until(ctx, time.Minute, func(ctx context.Context) (bool, error) {
		got := &apiextensionsv1.CustomResourceDefinition{}
		if err := h.user.Get(ctx, client.ObjectKey{Name: crd.Name}, got); err != nil {
			return false, err
		}
		for _, c := range got.Status.Conditions {
			if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
	gvk = authv1alpha1.ExternalAuthConfigGroupVersionKind
	gvk.Group = floorGroup
	return gvk, err
}

// steady counts the provider's API requests over two poll intervals, after
// letting what convergence queued finish.
func (h *harness) steady(ctx context.Context) (*report.Steady, error) {
	if err := sleep(ctx, h.c.Poll/2); err != nil {
		return nil, err
	}
	before, err := providerRequests(ctx)
	if err != nil {
		return nil, err
	}
	window := 2 * h.c.Poll
	if err := sleep(ctx, window); err != nil {
		return nil, err
	}
	after, err := providerRequests(ctx)
	if err != nil {
		return nil, err
	}
	return &report.Steady{Configs: h.c.Configs, Window: report.Of(window), Polls: 2, ByMethod: since(before, after)}, nil
}

// since is what each counter in after gained over before.
func since(before, after map[string]int) map[string]int {
	d := map[string]int{}
	for m, n := range after {
		if n > before[m] {
			d[m] = n - before[m]
		}
	}
	return d
}

// providerRequests reads the provider's client-go request counter by method,
// and by method and status code for answers other than 2xx, such as
// "PUT 409" for a conflict.
func providerRequests(ctx context.Context) (map[string]int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, providerMetrics, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot read the provider's metrics: %w", err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("cannot parse the provider's metrics: %w", err)
	}
	out := map[string]int{}
	mf, ok := mfs["rest_client_requests_total"]
	if !ok {
		return nil, errors.New("the provider reports no rest_client_requests_total")
	}
	for _, m := range mf.GetMetric() {
		var method, code string
		for _, l := range m.GetLabel() {
			switch l.GetName() {
			case "method":
				method = l.GetValue()
			case "code":
				code = l.GetValue()
			}
		}
		if method == "" {
			continue
		}
		if !strings.HasPrefix(code, "2") {
			method += " " + code
		}
		out[method] += int(m.GetCounter().GetValue())
	}
	return out, nil
}

// providerPeakRSS is the provider process's high-water resident set.
func (h *harness) providerPeakRSS() (float64, error) {
	b, err := os.ReadFile(filepath.Join(h.state, "pids", "provider.pid"))
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, err
	}
	p, err := procfs.NewProc(pid)
	if err != nil {
		return 0, err
	}
	st, err := p.NewStatus()
	if err != nil {
		return 0, err
	}
	return float64(st.VmHWM) / (1 << 20), nil
}

// issuerCA publishes the local authorization server's CA as the ConfigMap
// the example MCPServer's spec.oidc.caBundleRef names, as make run does:
// the real proxy runners check the issuer's certificate with it.
func (h *harness) issuerCA(ctx context.Context) error {
	ca, err := os.ReadFile(filepath.Join(h.state, "certs", "idp-ca.crt"))
	if err != nil {
		return err
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "local-idp-ca"}, Data: map[string]string{"ca.crt": string(ca)}}
	if err := h.user.Create(ctx, cm); err != nil && !kerrors.IsAlreadyExists(err) {
		return err
	}
	return nil
}

// throughput creates the MCPServers at once and times them to all Ready.
func (h *harness) throughput(ctx context.Context) (time.Duration, error) {
	xrs := make([]*unstructured.Unstructured, h.c.Servers)
	for i := range xrs {
		u := h.xr.DeepCopy()
		u.SetNamespace(ns)
		u.SetName(serverName(i))
		u.SetAnnotations(nil)
		if err := unstructured.SetNestedField(u.Object, configName(i), "spec", "externalAuth", "configRef", "name"); err != nil {
			return 0, err
		}
		xrs[i] = u
	}
	start := time.Now()
	if err := parallel(ctx, len(xrs), len(xrs), func(i int) error { return h.user.Create(ctx, xrs[i]) }); err != nil {
		return 0, err
	}
	err := h.until(ctx, 10*time.Minute, func(ctx context.Context) (bool, error) {
		l := &unstructured.UnstructuredList{}
		l.SetAPIVersion(xrAPIVersion)
		l.SetKind("MCPServerList")
		if err := h.user.List(ctx, l, client.InNamespace(ns)); err != nil {
			return false, err
		}
		ready := 0
		for _, xr := range l.Items {
			if ready1(xr) {
				ready++
			}
		}
		return ready == h.c.Servers, nil
	})
	return time.Since(start), err
}

func ready1(xr unstructured.Unstructured) bool {
	cs, _, _ := unstructured.NestedSlice(xr.Object, "status", "conditions")
	for _, c := range cs {
		m, _ := c.(map[string]any)
		if m["type"] == "Ready" && m["status"] == "True" {
			return true
		}
	}
	return false
}

// rotations rotates one MCPServer's client Secret at a time and times the
// way to its Deployment's pod template, and the provider's share of it: the
// way to the config's new hash in its status.
func (h *harness) rotations(ctx context.Context) (*report.Rotation, error) {
	l := &report.Rotation{}
	for i := range h.c.Rotations {
		key := client.ObjectKey{Namespace: ns, Name: serverName(i)}
		cfgKey := client.ObjectKey{Namespace: ns, Name: configName(i)}
		d := &appsv1.Deployment{}
		if err := h.watch.Get(ctx, key, d); err != nil {
			return nil, err
		}
		c := &authv1alpha1.ExternalAuthConfig{}
		if err := h.watch.Get(ctx, cfgKey, c); err != nil {
			return nil, err
		}
		before, cfgBefore := d.Spec.Template.Annotations[render.AnnotationConfigHash], c.Status.AtProvider.ConfigHash
		start := time.Now()
		if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			s := &corev1.Secret{}
			if err := h.user.Get(ctx, client.ObjectKey{Namespace: ns, Name: configName(i) + "-client"}, s); err != nil {
				return err
			}
			s.Data[clientSecretKey] = fmt.Appendf(nil, "rotated-%04d", i)
			return h.user.Update(ctx, s)
		}); err != nil {
			return nil, err
		}
		var after string
		var provider time.Duration
		if err := h.until(ctx, time.Minute, func(ctx context.Context) (bool, error) {
			if provider == 0 {
				if err := h.watch.Get(ctx, cfgKey, c); err != nil {
					return false, err
				}
				if c.Status.AtProvider.ConfigHash != cfgBefore {
					provider = time.Since(start)
				}
			}
			if err := h.watch.Get(ctx, key, d); err != nil {
				return false, err
			}
			after = d.Spec.Template.Annotations[render.AnnotationConfigHash]
			return after != before, nil
		}); err != nil {
			return nil, fmt.Errorf("rotation %d did not reach the pod template: %w", i, err)
		}
		took := time.Since(start)
		l.Samples = append(l.Samples, report.Of(took))
		// The harness's informers for the two kinds may deliver out of
		// order: a config hash first seen with the pod template counts the
		// whole rotation as the provider's, an upper bound.
		l.Provider.Samples = append(l.Provider.Samples, report.Of(cmp.Or(provider, took)))
		// The new annotation must be the config's new hash, not any change.
		if err := h.watch.Get(ctx, cfgKey, c); err != nil {
			return nil, err
		}
		if c.Status.AtProvider.ConfigHash != after {
			return nil, fmt.Errorf("rotation %d: pod template has %q, the config %q", i, after, c.Status.AtProvider.ConfigHash)
		}
		// One rollout at a time, as operators rotate.
		if err := h.until(ctx, time.Minute, func(ctx context.Context) (bool, error) {
			if err := h.watch.Get(ctx, key, d); err != nil {
				return false, err
			}
			return d.Status.ObservedGeneration == d.Generation && d.Status.UpdatedReplicas == d.Status.Replicas && d.Status.AvailableReplicas == d.Status.Replicas, nil
		}); err != nil {
			return nil, fmt.Errorf("rotation %d did not roll out: %w", i, err)
		}
	}
	return l, nil
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

// providerRate reads the provider's --max-reconcile-rate from its start-up
// line, so the floor gets the same client limits and concurrency.
func providerRate(logFile string) (int, error) {
	b, err := os.ReadFile(logFile)
	if err != nil {
		return 0, err
	}
	rate := 0
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.Contains(line, "Starting provider-mcp") {
			continue
		}
		var l struct {
			Rate int `json:"max-reconcile-rate"`
		}
		if json.Unmarshal([]byte(line), &l) == nil && l.Rate > 0 {
			rate = l.Rate
		}
	}
	if rate == 0 {
		return 0, fmt.Errorf("%s says no max-reconcile-rate", logFile)
	}
	return rate, nil
}
