// Package kclient is how the local plane talks to its API server: a client
// that knows every kind the plane writes, create-or-update, and server-side
// apply of YAML files.
package kclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	kerrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pkgv1 "github.com/crossplane/crossplane/apis/v2/pkg/v1"
	pkgv1beta1 "github.com/crossplane/crossplane/apis/v2/pkg/v1beta1"

	"github.com/crossmcp/provider-mcp/apis"
)

// fieldOwner is the plane's field manager for server-side apply.
const fieldOwner = "local-plane"

// Scheme knows every kind the plane's client reads and writes.
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, apis.AddToScheme, pkgv1.SchemeBuilder.AddToScheme, pkgv1beta1.SchemeBuilder.AddToScheme} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return s
}

// New is a client of the plane from a kubeconfig.
func New(kubeconfig string) (client.Client, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst = 50, 100
	return client.New(cfg, client.Options{Scheme: Scheme()})
}

// CreateOrUpdate creates o, or updates it to what mutate makes of it.
func CreateOrUpdate(ctx context.Context, c client.Client, o client.Object, mutate func()) error {
	key := client.ObjectKeyFromObject(o)
	if err := c.Get(ctx, key, o); err != nil {
		if !kerrors.IsNotFound(err) {
			return err
		}
		mutate()
		return c.Create(ctx, o)
	}
	mutate()
	return c.Update(ctx, o)
}

// ApplyFile server-side applies every object of a YAML file, in namespace
// ns when the object names none.
func ApplyFile(ctx context.Context, c client.Client, path, ns string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return ApplyYAML(ctx, c, b, path, ns)
}

// ApplyYAML server-side applies every object of a YAML stream read from
// source, in namespace ns when the object names none.
func ApplyYAML(ctx context.Context, c client.Client, b []byte, source, ns string) error {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("%s: %w", source, err)
		}
		if len(u.Object) == 0 {
			continue
		}
		if u.GetNamespace() == "" && ns != "" {
			u.SetNamespace(ns)
		}
		if err := c.Patch(ctx, u, client.Apply, client.FieldOwner(fieldOwner), client.ForceOwnership); err != nil { //nolint:staticcheck // client.Apply with unstructured is the simplest apply.
			if kerrors.IsNotFound(err) {
				return fmt.Errorf("cannot apply %s %s from %s (is its CRD installed?): %w", u.GetKind(), u.GetName(), source, err)
			}
			return fmt.Errorf("cannot apply %s %s from %s: %w", u.GetKind(), u.GetName(), source, err)
		}
	}
}
