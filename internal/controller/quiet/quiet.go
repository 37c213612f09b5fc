// Package quiet keeps crossplane-runtime's reconcilers from writing objects
// that did not change. The managed and provider config reconcilers update
// status, and the provider config reconciler the object too, at the end of
// every reconcile. A write that changes nothing still costs the API server a
// request and an etcd read, and the provider a share of its client's rate
// limit, so a steady state of many configs would keep both busy for nothing.
package quiet

import (
	"context"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// A Manager hands out a Client that drops writes that would change nothing.
// Pass it to a reconciler's constructor; everything else is the manager's.
type Manager struct {
	ctrl.Manager
}

// GetClient returns the manager's client, quietened.
func (m Manager) GetClient() client.Client {
	return Client{Client: m.Manager.GetClient()}
}

// A Client skips an Update, or a status Update, when the object it read from
// (usually the informer cache) has the same resourceVersion and the same
// content: the API server would store nothing. Anything else, including a
// stale cache or a read error, is written as before, so the API server still
// decides conflicts.
type Client struct {
	client.Client
}

// Update writes obj unless only its status could differ from what is stored.
func (c Client) Update(ctx context.Context, obj client.Object, opts ...client.UpdateOption) error {
	if len(opts) == 0 && c.unchanged(ctx, obj, false) {
		return nil
	}
	return c.Client.Update(ctx, obj, opts...)
}

// Status returns a writer that skips status updates that change nothing.
func (c Client) Status() client.SubResourceWriter {
	return statusWriter{SubResourceWriter: c.Client.Status(), c: c}
}

type statusWriter struct {
	client.SubResourceWriter
	c Client
}

func (w statusWriter) Update(ctx context.Context, obj client.Object, opts ...client.SubResourceUpdateOption) error {
	if len(opts) == 0 && w.c.unchanged(ctx, obj, true) {
		return nil
	}
	return w.SubResourceWriter.Update(ctx, obj, opts...)
}

// unchanged reports whether the stored copy of obj has obj's resourceVersion
// and the same status (status) or the same everything else (!status). The
// copies are compared as the API server would store them, so sub-second
// differences in timestamps, which it drops, do not count.
func (c Client) unchanged(ctx context.Context, obj client.Object, status bool) bool {
	if obj.GetResourceVersion() == "" {
		return false
	}
	cur, ok := obj.DeepCopyObject().(client.Object)
	if !ok {
		return false
	}
	if err := c.Get(ctx, client.ObjectKeyFromObject(obj), cur); err != nil || cur.GetResourceVersion() != obj.GetResourceVersion() {
		return false
	}
	stored, err := runtime.DefaultUnstructuredConverter.ToUnstructured(cur)
	if err != nil {
		return false
	}
	desired, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return false
	}
	if status {
		return equality.Semantic.DeepEqual(stored["status"], desired["status"])
	}
	delete(stored, "status")
	delete(desired, "status")
	return equality.Semantic.DeepEqual(stored, desired)
}
