package externalauthconfig

import (
	"context"
	"time"

	kerrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

// conflictRetry is how soon a reconcile whose write met a conflict runs
// again. A conflict here almost always means the informer cache had not yet
// seen this controller's own previous write; it catches up within
// milliseconds.
const conflictRetry = 100 * time.Millisecond

// retryConflicts drops conflict errors and runs the reconcile again after
// conflictRetry, like crossplane-runtime's WithSilentRequeueOnConflict but
// without its rate limiter, whose per-item backoff starts at a second: when
// many configs are created at once a second per conflict is most of the
// time they take.
type retryConflicts struct {
	reconcile.Reconciler
}

func (r retryConflicts) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	res, err := r.Reconciler.Reconcile(ctx, req)
	if kerrors.IsConflict(errors.Cause(err)) {
		return reconcile.Result{RequeueAfter: conflictRetry}, nil
	}
	return res, err
}
