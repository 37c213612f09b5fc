package valuecache

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/test"
)

var nn = types.NamespacedName{Namespace: "team-a", Name: "idp-client"}

// world is the API server (objects) and the manager's metadata watch
// (versions), which may lag behind it.
type world struct {
	objects  map[string]client.Object
	versions map[string]string
	metaErr  error
	reads    int
	version  int
	now      time.Time
}

func newWorld() *world {
	return &world{objects: map[string]client.Object{}, versions: map[string]string{}, now: time.Unix(0, 0)}
}

func kindKey(kind string, k client.ObjectKey) string { return kind + "/" + k.String() }

func kindOf(o runtime.Object) string {
	switch o.(type) {
	case *corev1.Secret:
		return "Secret"
	case *corev1.ConfigMap:
		return "ConfigMap"
	case *metav1.PartialObjectMetadata:
		return o.GetObjectKind().GroupVersionKind().Kind
	}
	return "Other"
}

// put stores an object at the API server and, unless lag, in the watch.
func (w *world) put(o client.Object, rv string, lag bool) {
	o.SetResourceVersion(rv)
	k := kindKey(kindOf(o), client.ObjectKeyFromObject(o))
	w.objects[k] = o
	if !lag {
		w.versions[k] = rv
	}
}

func (w *world) write(obj client.Object, dryRun bool) error {
	w.version++
	obj.SetResourceVersion(fmt.Sprint(w.version))
	if !dryRun {
		w.put(obj.DeepCopyObject().(client.Object), obj.GetResourceVersion(), false)
	}
	return nil
}

func (w *world) client(t *testing.T) *Client {
	api := &test.MockClient{
		MockGet: func(_ context.Context, k client.ObjectKey, obj client.Object) error {
			w.reads++
			o, ok := w.objects[kindKey(kindOf(obj), k)]
			if !ok {
				return kerrors.NewNotFound(schema.GroupResource{}, k.Name)
			}
			switch d := obj.(type) {
			case *corev1.Secret:
				o.(*corev1.Secret).DeepCopyInto(d)
			case *corev1.ConfigMap:
				o.(*corev1.ConfigMap).DeepCopyInto(d)
			}
			return nil
		},
		// A write stores obj at the API server, with the next version,
		// unless it is a dry run; the watch sees it at once.
		MockCreate: func(_ context.Context, obj client.Object, opts ...client.CreateOption) error {
			return w.write(obj, (&client.CreateOptions{}).ApplyOptions(opts).DryRun != nil)
		},
		MockPatch: func(_ context.Context, obj client.Object, _ client.Patch, opts ...client.PatchOption) error {
			return w.write(obj, (&client.PatchOptions{}).ApplyOptions(opts).DryRun != nil)
		},
		MockGroupVersionKindFor: func(o runtime.Object) (schema.GroupVersionKind, error) {
			return corev1.SchemeGroupVersion.WithKind(kindOf(o)), nil
		},
	}
	meta := &test.MockClient{
		MockGet: func(_ context.Context, k client.ObjectKey, obj client.Object) error {
			m, ok := obj.(*metav1.PartialObjectMetadata)
			if !ok {
				t.Fatalf("metadata read as %T", obj)
			}
			if w.metaErr != nil {
				return w.metaErr
			}
			rv, ok := w.versions[kindKey(kindOf(m), k)]
			if !ok {
				return kerrors.NewNotFound(schema.GroupResource{}, k.Name)
			}
			m.SetName(k.Name)
			m.SetResourceVersion(rv)
			return nil
		},
	}
	return New(api, meta, WithClock(func() time.Time { return w.now }), WithTTL(time.Hour))
}

func secret(value string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: nn.Namespace, Name: nn.Name},
		Data:       map[string][]byte{"client-secret": []byte(value)},
	}
}

func TestGet(t *testing.T) {
	errBoom := errors.New("boom")
	type want struct {
		value  string
		reads  int
		err    error
		cached int
	}
	cases := map[string]struct {
		reason string
		// before runs, and reads, before the read under test.
		before func(w *world, c *Client)
		obj    client.Object
		want   want
	}{
		"FirstRead": {
			reason: "A value never read comes from the API server.",
			before: func(w *world, _ *Client) { w.put(secret("s3cret"), "1", false) },
			obj:    &corev1.Secret{},
			want:   want{value: "s3cret", reads: 1, cached: 1},
		},
		"Unchanged": {
			reason: "A value whose watched version is unchanged costs no request.",
			before: func(w *world, c *Client) {
				w.put(secret("s3cret"), "1", false)
				_ = c.Get(context.Background(), nn, &corev1.Secret{})
			},
			obj:  &corev1.Secret{},
			want: want{value: "s3cret", cached: 1},
		},
		"Changed": {
			reason: "A value whose watched version changed is read again.",
			before: func(w *world, c *Client) {
				w.put(secret("s3cret"), "1", false)
				_ = c.Get(context.Background(), nn, &corev1.Secret{})
				w.put(secret("rotated"), "2", false)
			},
			obj:  &corev1.Secret{},
			want: want{value: "rotated", reads: 1, cached: 1},
		},
		"WatchLagsCreate": {
			reason: "An object the watch has not seen is not found, as from any cache, and costs no request.",
			before: func(w *world, _ *Client) { w.put(secret("s3cret"), "1", true) },
			obj:    &corev1.Secret{},
			want:   want{err: kerrors.NewNotFound(schema.GroupResource{}, nn.Name)},
		},
		"Deleted": {
			reason: "A deleted object is not found, and its value is dropped.",
			before: func(w *world, c *Client) {
				w.put(secret("s3cret"), "1", false)
				_ = c.Get(context.Background(), nn, &corev1.Secret{})
				w.objects, w.versions = map[string]client.Object{}, map[string]string{}
			},
			obj:  &corev1.Secret{},
			want: want{err: kerrors.NewNotFound(schema.GroupResource{}, nn.Name)},
		},
		"MetadataError": {
			reason: "A cache that cannot answer is an error, not a reason to read the API server.",
			before: func(w *world, _ *Client) {
				w.put(secret("s3cret"), "1", false)
				w.metaErr = errBoom
			},
			obj:  &corev1.Secret{},
			want: want{err: errors.Wrap(errBoom, errGetMetadata)},
		},
		"CallerCannotChangeCache": {
			reason: "Changing what a read returned does not change the cached value.",
			before: func(w *world, c *Client) {
				w.put(secret("s3cret"), "1", false)
				s := &corev1.Secret{}
				_ = c.Get(context.Background(), nn, s)
				s.Data["client-secret"] = []byte("changed by the caller")
			},
			obj:  &corev1.Secret{},
			want: want{value: "s3cret", cached: 1},
		},
		"ConfigMap": {
			reason: "ConfigMaps are served the same way.",
			before: func(w *world, c *Client) {
				w.put(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: nn.Namespace, Name: nn.Name}, Data: map[string]string{"client-secret": "ca"}}, "7", false)
				_ = c.Get(context.Background(), nn, &corev1.ConfigMap{})
			},
			obj:  &corev1.ConfigMap{},
			want: want{value: "ca", cached: 1},
		},
		"CreatedIsCached": {
			reason: "What the provider wrote is read back without a request.",
			before: func(_ *world, c *Client) {
				_ = c.Create(context.Background(), secret("published"))
			},
			obj:  &corev1.Secret{},
			want: want{value: "published", cached: 1},
		},
		"PatchedIsCached": {
			reason: "A patched value is read back without a request.",
			before: func(w *world, c *Client) {
				w.put(secret("s3cret"), "1", false)
				_ = c.Get(context.Background(), nn, &corev1.Secret{})
				_ = c.Patch(context.Background(), secret("patched"), client.Merge)
			},
			obj:  &corev1.Secret{},
			want: want{value: "patched", cached: 1},
		},
		"DryRunNotCached": {
			reason: "A dry run's answer was never stored, so it is not cached.",
			before: func(w *world, c *Client) {
				w.put(secret("s3cret"), "1", false)
				_ = c.Get(context.Background(), nn, &corev1.Secret{})
				_ = c.Patch(context.Background(), secret("dry"), client.Merge, client.DryRunAll)
			},
			obj:  &corev1.Secret{},
			want: want{value: "s3cret", cached: 1},
		},
		"UnusedDropped": {
			reason: "A value nobody read for the TTL is dropped, and read again when asked for.",
			before: func(w *world, c *Client) {
				w.put(secret("s3cret"), "1", false)
				_ = c.Get(context.Background(), nn, &corev1.Secret{})
				w.now = w.now.Add(2 * time.Hour)
				w.put(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: nn.Namespace, Name: nn.Name}}, "9", false)
				_ = c.Get(context.Background(), nn, &corev1.ConfigMap{})
			},
			obj:  &corev1.Secret{},
			want: want{value: "s3cret", reads: 1, cached: 2},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			w := newWorld()
			c := w.client(t)
			tc.before(w, c)
			w.reads = 0
			err := c.Get(context.Background(), nn, tc.obj)
			got := want{reads: w.reads, err: err, cached: c.Len()}
			switch o := tc.obj.(type) {
			case *corev1.Secret:
				got.value = string(o.Data["client-secret"])
			case *corev1.ConfigMap:
				got.value = o.Data["client-secret"]
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(want{}), test.EquateErrors()); diff != "" {
				t.Errorf("%s\nGet(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestGetOtherKinds(t *testing.T) {
	w := newWorld()
	c := w.client(t)
	pod := &corev1.Pod{}
	for range 2 {
		_ = c.Get(context.Background(), nn, pod)
	}
	if w.reads != 2 || c.Len() != 0 {
		t.Errorf("two reads of a Pod: %d API reads, %d cached values; want 2 and 0", w.reads, c.Len())
	}
}

func TestTransform(t *testing.T) {
	in := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{
		Namespace: "team-a", Name: "s", UID: "u", ResourceVersion: "3",
		Labels:        map[string]string{"team": "a"},
		Annotations:   map[string]string{"kubectl.kubernetes.io/last-applied-configuration": `{"data":{"password":"cGFzcw=="}}`},
		Finalizers:    []string{"f"},
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}},
	}}
	out, err := Transform()(in)
	if err != nil {
		t.Fatal(err)
	}
	want := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "s", UID: "u", ResourceVersion: "3"}}
	if diff := cmp.Diff(want, out, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("Transform: -want, +got:\n%s", diff)
	}
}
