// Package valuecache serves the provider's reads of Secrets and ConfigMaps
// without holding every one in the cluster. The manager's cache watches only
// their metadata, cut down to names and versions (Transform); a read is
// served from the copy taken when the object was last read, as long as the
// watched resourceVersion still matches, and from the API server otherwise.
// The provider so holds the values of just the objects its configs
// reference, and a steady state still costs the API server no request.
package valuecache

import (
	"context"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

const errGetMetadata = "cannot get object metadata from the cache"

// DefaultTTL is how long a value nobody reads stays cached. Every config
// reads its Secrets at least once per poll interval.
const DefaultTTL = time.Hour

// Objects are the kinds whose values are read on demand: the manager's
// client must not cache them (client.CacheOptions.DisableFor), and its cache
// watches their metadata through Transform.
func Objects() []client.Object {
	return []client.Object{&corev1.Secret{}, &corev1.ConfigMap{}}
}

// Transform keeps of a watched object's metadata what finding the configs
// that use it needs: namespace, name and version. Labels and annotations
// go; kubectl's last-applied-configuration annotation holds a Secret's data.
func Transform() toolscache.TransformFunc {
	return func(in any) (any, error) {
		if m, ok := in.(*metav1.PartialObjectMetadata); ok {
			m.ObjectMeta = metav1.ObjectMeta{
				Namespace:       m.Namespace,
				Name:            m.Name,
				UID:             m.UID,
				ResourceVersion: m.ResourceVersion,
			}
		}
		return in, nil
	}
}

// A Client reads Secrets and ConfigMaps through the value cache and
// everything else through the client it wraps, which must not cache them.
type Client struct {
	client.Client
	meta client.Reader
	ttl  time.Duration
	now  func() time.Time

	mu      sync.Mutex
	entries map[key]*entry
	swept   time.Time
}

type key struct {
	gk schema.GroupKind
	types.NamespacedName
}

type entry struct {
	obj  client.Object
	used time.Time
}

// An Option configures a Client.
type Option func(*Client)

// WithTTL drops values nobody has read for ttl.
func WithTTL(ttl time.Duration) Option {
	return func(c *Client) { c.ttl = ttl }
}

// WithClock sets the clock values' ages are measured by.
func WithClock(now func() time.Time) Option {
	return func(c *Client) { c.now = now }
}

// New returns a Client reading values through c and metadata through meta,
// usually the manager's client and cache.
func New(c client.Client, meta client.Reader, o ...Option) *Client {
	vc := &Client{Client: c, meta: meta, ttl: DefaultTTL, now: time.Now, entries: map[key]*entry{}}
	for _, fn := range o {
		fn(vc)
	}
	vc.swept = vc.now()
	return vc
}

// Get reads obj. A Secret or ConfigMap comes from the value cache when the
// watched metadata has the cached copy's resourceVersion, else from the API
// server. One the watch does not know is not found, as with any cache: a
// watch that lags a create brings the object's event, and so another
// reconcile, right after.
func (c *Client) Get(ctx context.Context, nn client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if !valued(obj) || len(opts) > 0 {
		return c.Client.Get(ctx, nn, obj, opts...)
	}
	gvk, err := c.GroupVersionKindFor(obj)
	if err != nil {
		return err
	}
	k := key{gk: gvk.GroupKind(), NamespacedName: nn}
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(gvk)
	if err := c.meta.Get(ctx, nn, m); err != nil {
		if kerrors.IsNotFound(err) {
			c.forget(k)
			return err
		}
		return errors.Wrap(err, errGetMetadata)
	}
	if c.load(k, m.ResourceVersion, obj) {
		return nil
	}
	if err := c.Client.Get(ctx, nn, obj); err != nil {
		if kerrors.IsNotFound(err) {
			c.forget(k)
		}
		return err
	}
	c.store(k, obj)
	return nil
}

// Create creates obj; a Secret or ConfigMap is cached as the API server
// returned it, so reading back what the provider wrote (its connection
// secrets) costs no request.
func (c *Client) Create(ctx context.Context, obj client.Object, opts ...client.CreateOption) error {
	if err := c.Client.Create(ctx, obj, opts...); err != nil {
		return err
	}
	c.written(obj, len(opts))
	return nil
}

// Update updates obj, caching a Secret or ConfigMap as Create does.
func (c *Client) Update(ctx context.Context, obj client.Object, opts ...client.UpdateOption) error {
	if err := c.Client.Update(ctx, obj, opts...); err != nil {
		return err
	}
	c.written(obj, len(opts))
	return nil
}

// Patch patches obj, caching a Secret or ConfigMap as Create does.
func (c *Client) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
	if err := c.Client.Patch(ctx, obj, patch, opts...); err != nil {
		return err
	}
	c.written(obj, len(opts))
	return nil
}

// written caches what the API server returned for a write made without
// options: one with options may be a dry run, whose answer was not stored.
func (c *Client) written(obj client.Object, opts int) {
	if opts > 0 || !valued(obj) || obj.GetResourceVersion() == "" {
		return
	}
	gvk, err := c.GroupVersionKindFor(obj)
	if err != nil {
		return
	}
	c.store(key{gk: gvk.GroupKind(), NamespacedName: client.ObjectKeyFromObject(obj)}, obj)
}

// Len returns how many values are cached.
func (c *Client) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

func (c *Client) load(k key, rv string, into client.Object) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if !ok || e.obj.GetResourceVersion() != rv {
		return false
	}
	now := c.now()
	e.used = now
	c.sweep(now)
	return copyInto(into, e.obj)
}

func (c *Client) store(k key, obj client.Object) {
	cp, ok := obj.DeepCopyObject().(client.Object)
	if !ok {
		return
	}
	// Never read here, and often the larger part of a small object.
	cp.SetManagedFields(nil)
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	c.entries[k] = &entry{obj: cp, used: now}
	c.sweep(now)
}

func (c *Client) forget(k key) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, k)
}

// sweep drops values nobody has read for the TTL, at most once per TTL:
// those of Secrets no config references any more, or deleted ones.
func (c *Client) sweep(now time.Time) {
	if now.Sub(c.swept) < c.ttl {
		return
	}
	c.swept = now
	for k, e := range c.entries {
		if now.Sub(e.used) >= c.ttl {
			delete(c.entries, k)
		}
	}
}

func valued(obj client.Object) bool {
	switch obj.(type) {
	case *corev1.Secret, *corev1.ConfigMap:
		return true
	}
	return false
}

// copyInto copies a cached value into the caller's object, which may then
// change it freely.
func copyInto(dst, src client.Object) bool {
	switch d := dst.(type) {
	case *corev1.Secret:
		s, ok := src.(*corev1.Secret)
		if ok {
			s.DeepCopyInto(d)
		}
		return ok
	case *corev1.ConfigMap:
		s, ok := src.(*corev1.ConfigMap)
		if ok {
			s.DeepCopyInto(d)
		}
		return ok
	}
	return false
}

// A Manager hands out the value-caching client as its client, for
// reconcilers that take a manager (crossplane-runtime's managed reconciler
// publishes connection secrets through it).
type Manager struct {
	ctrl.Manager
	Client *Client
}

// GetClient returns the value-caching client.
func (m Manager) GetClient() client.Client {
	return m.Client
}
