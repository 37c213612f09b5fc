package main

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/ratelimiter"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	authv1alpha1 "github.com/crossmcp/provider-mcp/apis/auth/v1alpha1"
)

// unrelated creates the Secrets no config references, in a namespace of
// their own.
func (h *harness) unrelated(ctx context.Context) error {
	if err := h.user.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: unrelatedNS}}); err != nil && !kerrors.IsAlreadyExists(err) {
		return err
	}
	value := bytes.Repeat([]byte("u"), unrelatedSize)
	return parallel(ctx, h.c.Unrelated, workers, func(i int) error {
		s := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: unrelatedNS, Name: fmt.Sprintf("unrelated-%05d", i)},
			Data:       map[string][]byte{"value": value},
		}
		if err := h.user.Create(ctx, s); err != nil && !kerrors.IsAlreadyExists(err) {
			return err
		}
		return nil
	})
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
