package main

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	authv1alpha1 "github.com/crossmcp/provider-mcp/apis/auth/v1alpha1"
	"github.com/crossmcp/provider-mcp/internal/function/render"
	"github.com/crossmcp/provider-mcp/test/scale/report"
)

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
