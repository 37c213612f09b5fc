package podrunner

import (
	"context"
	"fmt"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// nodeIP is the address the node reports, and its pods as their host's.
const nodeIP = "127.0.0.1"

// podCIDR is where pods get their addresses from. Nothing dials them (a
// process listens on its Service's loopback address), but EndpointSlices
// and clients expect one per pod.
var podCIDR = netip.MustParsePrefix("10.244.0.0/16")

// RegisterNode registers the plane's one node as kubelet would and reports
// it Ready, with room for any number of pods, then clears the taints the
// apiserver gives a node until it is Ready (no node lifecycle controller
// runs to clear them). Other nodes are deleted, so that no pod waits on a
// node nothing plays kubelet for: their pods are then collected and made
// again here.
func RegisterNode(ctx context.Context, kube client.Client, name, kubeletVersion string) error {
	nodes := &corev1.NodeList{}
	if err := kube.List(ctx, nodes); err != nil {
		return err
	}
	for i := range nodes.Items {
		if n := &nodes.Items[i]; n.Name != name {
			if err := kube.Delete(ctx, n); err != nil && !kerrors.IsNotFound(err) {
				return fmt.Errorf("cannot delete node %s: %w", n.Name, err)
			}
		}
	}
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:   name,
			Labels: map[string]string{"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"},
		},
		Spec: corev1.NodeSpec{PodCIDR: podCIDR.String(), PodCIDRs: []string{podCIDR.String()}},
	}
	if err := kube.Create(ctx, n); err != nil && !kerrors.IsAlreadyExists(err) {
		return fmt.Errorf("cannot register node %s: %w", name, err)
	}
	if err := kube.Get(ctx, client.ObjectKeyFromObject(n), n); err != nil {
		return err
	}
	n.Status = nodeStatus(name, kubeletVersion, metav1.Now())
	if err := kube.Status().Update(ctx, n); err != nil {
		return fmt.Errorf("cannot report node %s Ready: %w", name, err)
	}
	if len(n.Spec.Taints) > 0 {
		n.Spec.Taints = nil
		if err := kube.Update(ctx, n); err != nil {
			return fmt.Errorf("cannot clear the taints of node %s: %w", name, err)
		}
	}
	return nil
}

// nodeStatus is a Ready node's status.
func nodeStatus(name, kubeletVersion string, now metav1.Time) corev1.NodeStatus {
	room := corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("1k"), corev1.ResourceMemory: resource.MustParse("1Ti"), corev1.ResourcePods: resource.MustParse("1M"),
	}
	cond := func(t corev1.NodeConditionType, s corev1.ConditionStatus, reason string) corev1.NodeCondition {
		return corev1.NodeCondition{Type: t, Status: s, Reason: reason, LastHeartbeatTime: now, LastTransitionTime: now}
	}
	return corev1.NodeStatus{
		Capacity: room, Allocatable: room,
		Conditions: []corev1.NodeCondition{
			cond(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady"),
			cond(corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory"),
			cond(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure"),
			cond(corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID"),
		},
		Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: nodeIP}, {Type: corev1.NodeHostName, Address: name}},
		NodeInfo:  corev1.NodeSystemInfo{KubeletVersion: kubeletVersion, OperatingSystem: "linux", Architecture: "amd64"},
	}
}

// report writes what kubelet would of the node's pods: a new pod runs and
// is ready at once, a Job's pod completes, and a pod being deleted goes
// once its process (if it has one) has stopped.
func (r *Runner) report(ctx context.Context, pods []corev1.Pod) {
	used := map[netip.Addr]bool{}
	for _, pod := range pods {
		if a, err := netip.ParseAddr(pod.Status.PodIP); err == nil {
			used[a] = true
		}
	}
	for i := range pods {
		pod := &pods[i]
		if pod.Spec.NodeName != r.Node {
			continue
		}
		var err error
		switch {
		case pod.DeletionTimestamp != nil:
			err = client.IgnoreNotFound(r.Kube.Delete(ctx, pod, client.GracePeriodSeconds(0)))
		case pod.Status.Phase == "" || pod.Status.Phase == corev1.PodPending:
			ip, ok := freeIP(used)
			if !ok {
				err = fmt.Errorf("no free pod address in %s", podCIDR)
				break
			}
			used[ip] = true
			pod.Status = running(pod, ip, metav1.Now())
			err = r.Kube.Status().Update(ctx, pod)
		case pod.Status.Phase == corev1.PodRunning && ownedBy(pod, "Job"):
			pod.Status = completed(pod, metav1.Now())
			err = r.Kube.Status().Update(ctx, pod)
		}
		// A conflict is the next turn's to resolve.
		if err != nil && !kerrors.IsConflict(err) {
			r.logf("pod %s/%s: cannot report its status: %v", pod.Namespace, pod.Name, err)
		}
	}
}

// freeIP is the first pod address not in use.
func freeIP(used map[netip.Addr]bool) (netip.Addr, bool) {
	for a := podCIDR.Addr().Next(); podCIDR.Contains(a); a = a.Next() {
		if !used[a] {
			return a, true
		}
	}
	return netip.Addr{}, false
}

// running is a pod's status once its containers run and are ready.
func running(pod *corev1.Pod, ip netip.Addr, now metav1.Time) corev1.PodStatus {
	s := corev1.PodStatus{
		Phase: corev1.PodRunning, StartTime: &now,
		HostIP: nodeIP, HostIPs: []corev1.HostIP{{IP: nodeIP}},
		PodIP: ip.String(), PodIPs: []corev1.PodIP{{IP: ip.String()}},
	}
	for _, t := range []corev1.PodConditionType{corev1.PodScheduled, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady} {
		s.Conditions = append(s.Conditions, corev1.PodCondition{Type: t, Status: corev1.ConditionTrue, LastTransitionTime: now})
	}
	for _, g := range pod.Spec.ReadinessGates {
		s.Conditions = append(s.Conditions, corev1.PodCondition{Type: g.ConditionType, Status: corev1.ConditionTrue, LastTransitionTime: now})
	}
	for _, c := range pod.Spec.InitContainers {
		s.InitContainerStatuses = append(s.InitContainerStatuses, corev1.ContainerStatus{Name: c.Name, Image: c.Image, Ready: true,
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Completed", StartedAt: now, FinishedAt: now}}})
	}
	for _, c := range pod.Spec.Containers {
		s.ContainerStatuses = append(s.ContainerStatuses, corev1.ContainerStatus{Name: c.Name, Image: c.Image, Ready: true, Started: ptr.To(true),
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}})
	}
	return s
}

// completed is a Job pod's status once its containers exited 0.
func completed(pod *corev1.Pod, now metav1.Time) corev1.PodStatus {
	s := *pod.Status.DeepCopy()
	s.Phase = corev1.PodSucceeded
	for i, c := range s.Conditions {
		if c.Type == corev1.PodReady || c.Type == corev1.ContainersReady {
			s.Conditions[i].Status, s.Conditions[i].Reason, s.Conditions[i].LastTransitionTime = corev1.ConditionFalse, "PodCompleted", now
		}
	}
	for i := range s.ContainerStatuses {
		started := now
		if r := s.ContainerStatuses[i].State.Running; r != nil {
			started = r.StartedAt
		}
		s.ContainerStatuses[i].Ready, s.ContainerStatuses[i].Started = false, nil
		s.ContainerStatuses[i].State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Completed", StartedAt: started, FinishedAt: now}}
	}
	return s
}
