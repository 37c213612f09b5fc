package podrunner

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
)

func scheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	if err := corev1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestRegisterNode: the node is Ready with room for pods and untainted, and
// a node nothing plays kubelet for is gone.
func TestRegisterNode(t *testing.T) {
	stale := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "kwok-node-0"}}
	tainted := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "local-node"},
		Spec: corev1.NodeSpec{Taints: []corev1.Taint{{Key: "node.kubernetes.io/not-ready", Effect: corev1.TaintEffectNoSchedule}}}}
	kube := fake.NewClientBuilder().WithScheme(scheme(t)).WithObjects(stale, tainted).WithStatusSubresource(&corev1.Node{}).Build()
	ctx := context.Background()
	if err := RegisterNode(ctx, kube, "local-node", "v1.35.4"); err != nil {
		t.Fatal(err)
	}
	if err := kube.Get(ctx, client.ObjectKeyFromObject(stale), &corev1.Node{}); !kerrors.IsNotFound(err) {
		t.Errorf("the other node is still there (get: %v)", err)
	}
	n := &corev1.Node{}
	if err := kube.Get(ctx, client.ObjectKey{Name: "local-node"}, n); err != nil {
		t.Fatal(err)
	}
	ready := false
	for _, c := range n.Status.Conditions {
		ready = ready || (c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue)
	}
	if !ready || len(n.Spec.Taints) != 0 || n.Status.Allocatable.Pods().IsZero() || n.Status.NodeInfo.KubeletVersion != "v1.35.4" {
		t.Errorf("node: ready %t, taints %v, allocatable pods %s, kubelet %q", ready, n.Spec.Taints, n.Status.Allocatable.Pods(), n.Status.NodeInfo.KubeletVersion)
	}
	// A restart registers the node again.
	if err := RegisterNode(ctx, kube, "local-node", "v1.35.4"); err != nil {
		t.Errorf("registering again: %v", err)
	}
}

func pod(name, node string, mutate ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "demo", Name: name},
		Spec:       corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "main", Image: "img"}}},
		Status:     corev1.PodStatus{Phase: corev1.PodPending},
	}
	for _, m := range mutate {
		m(p)
	}
	return p
}

// TestReport: what kubelet would write of the node's pods.
func TestReport(t *testing.T) {
	taken := func(p *corev1.Pod) { p.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.244.0.1"} }
	job := func(p *corev1.Pod) {
		p.OwnerReferences = []metav1.OwnerReference{{Kind: "Job", Name: "j", APIVersion: "batch/v1", UID: "j"}}
		p.Status = running(p, netip.MustParseAddr("10.244.0.9"), metav1.Now())
	}
	deleting := func(p *corev1.Pod) { p.Finalizers = []string{"test/keep"} }
	objs := []client.Object{
		pod("old", "local-node", taken), pod("new", "local-node"), pod("elsewhere", "other-node"),
		pod("job", "local-node", job), pod("gone", "local-node", deleting),
	}
	var deleted []string
	kube := fake.NewClientBuilder().WithScheme(scheme(t)).WithObjects(objs...).WithStatusSubresource(&corev1.Pod{}).
		WithInterceptorFuncs(interceptor.Funcs{Delete: func(ctx context.Context, c client.WithWatch, o client.Object, opts ...client.DeleteOption) error {
			do := &client.DeleteOptions{}
			do.ApplyOptions(opts)
			if do.GracePeriodSeconds != nil {
				deleted = append(deleted, fmt.Sprintf("%s grace %d", o.GetName(), *do.GracePeriodSeconds))
			}
			return c.Delete(ctx, o, opts...)
		}}).Build()
	ctx := context.Background()
	// The fake deletes an object without finalizers at once: a finalizer
	// keeps "gone" there with a deletionTimestamp.
	if err := kube.Delete(ctx, pod("gone", "local-node")); err != nil {
		t.Fatal(err)
	}
	l := &corev1.PodList{}
	if err := kube.List(ctx, l); err != nil {
		t.Fatal(err)
	}
	r := &Runner{Kube: kube, Node: "local-node", Log: io.Discard}
	r.report(ctx, l.Items)

	got := map[string]string{}
	for _, n := range []string{"old", "new", "elsewhere", "job"} {
		p := &corev1.Pod{}
		if err := kube.Get(ctx, client.ObjectKey{Namespace: "demo", Name: n}, p); err != nil {
			t.Fatal(err)
		}
		got[n] = string(p.Status.Phase) + " " + p.Status.PodIP
		if n == "new" && (len(p.Status.ContainerStatuses) != 1 || !p.Status.ContainerStatuses[0].Ready) {
			t.Errorf("new pod's containers not ready: %+v", p.Status.ContainerStatuses)
		}
	}
	want := map[string]string{
		"old":       "Running 10.244.0.1",
		"new":       "Running 10.244.0.2", // 10.244.0.1 is taken
		"elsewhere": "Pending ",           // not this node's
		"job":       "Succeeded 10.244.0.9",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pod phases and addresses: -want, +got:\n%s", diff)
	}
	if diff := cmp.Diff([]string{"gone grace 0"}, deleted); diff != "" {
		t.Errorf("pods deleted at once: -want, +got:\n%s", diff)
	}
}

func TestFreeIP(t *testing.T) {
	used := map[netip.Addr]bool{netip.MustParseAddr("10.244.0.1"): true, netip.MustParseAddr("10.244.0.3"): true}
	if got, ok := freeIP(used); !ok || got != netip.MustParseAddr("10.244.0.2") {
		t.Errorf("freeIP = %s, %t; want 10.244.0.2", got, ok)
	}
}
