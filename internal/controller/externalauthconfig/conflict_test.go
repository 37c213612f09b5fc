package externalauthconfig

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

func TestRetryConflicts(t *testing.T) {
	conflict := kerrors.NewConflict(schema.GroupResource{Resource: "externalauthconfigs"}, "cfg", errors.New("stale"))
	boom := errors.New("boom")
	type want struct {
		res reconcile.Result
		err error
	}
	cases := map[string]struct {
		reason string
		res    reconcile.Result
		err    error
		want   want
	}{
		"Conflict": {
			reason: "A conflict, however wrapped, is retried soon and not reported.",
			err:    errors.Wrap(conflict, "cannot update managed resource status"),
			want:   want{res: reconcile.Result{RequeueAfter: conflictRetry}},
		},
		"OtherError": {
			reason: "Other errors pass, for the rate limiter to back off.",
			err:    boom,
			want:   want{err: boom},
		},
		"Success": {
			reason: "A result passes as it is.",
			res:    reconcile.Result{RequeueAfter: time.Minute},
			want:   want{res: reconcile.Result{RequeueAfter: time.Minute}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := retryConflicts{Reconciler: reconcile.Func(func(context.Context, reconcile.Request) (reconcile.Result, error) { return tc.res, tc.err })}
			res, err := r.Reconcile(context.Background(), reconcile.Request{})
			if diff := cmp.Diff(tc.want, want{res: res, err: err}, cmp.AllowUnexported(want{}), cmpopts.EquateErrors()); diff != "" {
				t.Errorf("\n%s\nReconcile(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}
