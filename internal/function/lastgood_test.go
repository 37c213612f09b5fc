package function

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"

	"github.com/crossmcp/provider-mcp/internal/function/render"
)

// TestLastGood: while its config is unusable, a workload keeps the settings
// it runs with, read from what Crossplane observed of it: the XR's status is
// written by whoever may write the XR, and is never trusted.
func TestLastGood(t *testing.T) {
	f := New(logging.NewNopLogger())
	r := startRunning(t, f, xrRef, config("team-a"), false)
	forged := map[string]any{"externalAuth": map[string]any{
		"configName": "backend-api", "type": "tokenExchange", "configHash": "ffffeeeeddddcccc",
		"tokenUrl": "https://attacker.example/token", "clientId": "mcp", "audience": "backend",
		"clientSecretRef": map[string]any{"name": "someone-elses-secret", "key": "client_secret"},
	}}
	type want struct {
		resources []string
		runConfig any // the desired RunConfig ConfigMap's data, nil when none
		usage     any
		xrReady   fnv1.Ready
	}
	good := want{resources: sorted(workload), runConfig: data(r.desired[render.NameRunConfig]), usage: spec(r.desired[render.NameUsage])}
	cases := map[string]struct {
		reason   string
		status   map[string]any
		observed map[string]*fnv1.Resource
		want     want
	}{
		"FromObserved": {
			reason:   "With the config gone and no status at all, the running workload's settings come from its observed objects.",
			observed: r.observed,
			want:     good,
		},
		"ForgedStatus": {
			reason: "A status naming another token endpoint and Secret, with nothing running, renders no workload.",
			status: forged,
			want:   want{resources: sorted(rbacOnly), xrReady: fnv1.Ready_READY_FALSE},
		},
		"ForgedStatusWhileRunning": {
			reason:   "A forged status never replaces the settings the workload runs with.",
			status:   forged,
			observed: r.observed,
			want:     good,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			xr := clone(t, r.xr)
			delete(xr, "status")
			if tc.status != nil {
				xr["status"] = tc.status
			}
			rsp, err := f.RunFunction(context.Background(), &fnv1.RunFunctionRequest{
				Observed:          &fnv1.State{Composite: &fnv1.Resource{Resource: toStruct(t, xr)}, Resources: tc.observed},
				Desired:           &fnv1.State{},
				RequiredResources: map[string]*fnv1.Resources{RequiredConfig: {}},
			})
			if err != nil {
				t.Fatal(err)
			}
			var got want
			for n := range rsp.GetDesired().GetResources() {
				got.resources = append(got.resources, n)
			}
			got.resources = sorted(got.resources)
			got.runConfig = data(rsp.GetDesired().GetResources()[render.NameRunConfig])
			got.usage = spec(rsp.GetDesired().GetResources()[render.NameUsage])
			got.xrReady = rsp.GetDesired().GetComposite().GetReady()
			if tc.want.xrReady == fnv1.Ready_READY_UNSPECIFIED {
				got.xrReady = fnv1.Ready_READY_UNSPECIFIED // what the backend says is TestBackend's
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("%s\n-want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func data(r *fnv1.Resource) any {
	if r == nil {
		return nil
	}
	return r.GetResource().AsMap()["data"]
}

func spec(r *fnv1.Resource) any {
	if r == nil {
		return nil
	}
	return r.GetResource().AsMap()["spec"]
}
