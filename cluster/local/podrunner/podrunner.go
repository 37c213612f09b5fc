// Package podrunner plays kubelet on the embedded plane: it registers the
// plane's one node, reports every pod the scheduler binds to it running and
// ready (a Job's pod completed), deletes pods once they are stopped, and for
// two kinds of pod also runs the real process:
//
//   - proxy-runner pods (the Deployments function-mcp-server composes) run
//     ToolHive's real thv-proxyrunner with the pod's arguments, its
//     environment (secretKeyRef and configMapKeyRef resolved from the
//     apiserver), its ConfigMap volumes at their mount paths, and a kubeconfig
//     for the pod's ServiceAccount, so the composed Role is what lets it work;
//   - MCP server pods (the StatefulSets the runner creates) run mcpecho, our
//     stand-in MCP server, in place of their image.
//
// Pods have no network of their own here: each process listens on a loopback
// address derived from the ClusterIP of the Service that selects its pod
// (10.0.b.c -> 127.100.b.c), and the proxy runner resolves Service names to
// those addresses through a private /etc/hosts. A new pod (a rollout) starts a
// new process, which takes the address over from the older pod's; a deleted
// pod stops its process; a process that exits is started again after a
// pause, as kubelet restarts a container.
package podrunner

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Runner runs the processes of the pods it plays kubelet for.
type Runner struct {
	Kube        client.Client // the plane's admin client
	Node        string        // the node it plays kubelet for (RegisterNode)
	Dir         string        // per-pod state: files, logs
	ProxyRunner string        // the thv-proxyrunner binary
	MCPServer   string        // the mcpecho binary
	// Kubeconfig returns the path of a kubeconfig for ServiceAccount ns/name.
	Kubeconfig func(ctx context.Context, ns, name string) (string, error)
	// ExtraCA is added to the system roots the proxy runner sees: the local
	// authorization server's CA, as a pod image would carry its company's.
	ExtraCA []byte
	Log     io.Writer

	mu   sync.Mutex
	pods map[types.UID]*process
}

// Run syncs the processes with the pods every second until ctx ends, then
// stops them all.
func (r *Runner) Run(ctx context.Context) {
	r.pods = map[types.UID]*process{}
	wait.UntilWithContext(ctx, r.sync, time.Second)
	r.mu.Lock()
	defer r.mu.Unlock()
	for uid, p := range r.pods {
		p.stop()
		delete(r.pods, uid)
	}
}

func (r *Runner) logf(format string, args ...any) {
	fmt.Fprintf(r.Log, "%s podrunner: %s\n", time.Now().Format(time.TimeOnly), fmt.Sprintf(format, args...))
}

// sync starts a process for every pod that should have one and runs none,
// stops those whose pod is gone, and refreshes what running ones resolve.
func (r *Runner) sync(ctx context.Context) {
	pods := &corev1.PodList{}
	svcs := &corev1.ServiceList{}
	cms := &corev1.ConfigMapList{}
	for _, l := range []client.ObjectList{pods, svcs, cms} {
		if err := r.Kube.List(ctx, l); err != nil {
			return
		}
	}
	versions := make(map[string]string, len(cms.Items))
	for _, cm := range cms.Items {
		versions[cm.Namespace+"/"+cm.Name] = cm.ResourceVersion
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	want := map[types.UID]*corev1.Pod{}
	for i := range pods.Items {
		pod := &pods.Items[i]
		if kindOf(pod) != none && pod.Spec.NodeName != "" && pod.DeletionTimestamp == nil {
			want[pod.UID] = pod
		}
	}
	// Gone pods first: their processes free the addresses new ones take.
	for uid, p := range r.pods {
		if want[uid] == nil {
			r.logf("pod %s/%s is gone: stopping its process", p.pod.Namespace, p.pod.Name)
			p.stop()
			delete(r.pods, uid)
		}
	}
	holder := holders(want, svcs.Items)
	for uid, pod := range want {
		p, ok := r.pods[uid]
		if !ok {
			p = &process{pod: pod.DeepCopy(), kind: kindOf(pod)}
			r.pods[uid] = p
		}
		if addr, _, err := address(pod, svcs.Items); err == nil && holder[addr] != uid {
			// A rollout's new pod takes the address over at once, as a
			// Service would send it the traffic; this one waits to go.
			if p.running() {
				r.logf("pod %s/%s: a newer pod takes %s over: stopping its process", pod.Namespace, pod.Name, addr)
				p.stop()
			}
			continue
		}
		if err := r.ensure(ctx, p, svcs.Items, versions); err != nil && p.lastErr != err.Error() {
			p.lastErr = err.Error()
			r.logf("pod %s/%s: %v", pod.Namespace, pod.Name, err)
		}
	}
	// After the processes: a deleted pod's process has stopped by now.
	r.report(ctx, pods.Items)
}

// holders tells which pod runs at each address: pods have no addresses of
// their own here, so of the pods a Service selects only the newest runs.
func holders(pods map[types.UID]*corev1.Pod, svcs []corev1.Service) map[string]types.UID {
	newest := map[string]*corev1.Pod{}
	for _, pod := range pods {
		addr, _, err := address(pod, svcs)
		if err != nil {
			continue
		}
		if o, ok := newest[addr]; !ok || o.CreationTimestamp.Before(&pod.CreationTimestamp) ||
			(o.CreationTimestamp.Equal(&pod.CreationTimestamp) && o.Name < pod.Name) {
			newest[addr] = pod
		}
	}
	out := make(map[string]types.UID, len(newest))
	for addr, pod := range newest {
		out[addr] = pod.UID
	}
	return out
}

// ensure starts p's process unless it runs, or ran too recently, and keeps
// its hosts file current. versions are the ConfigMaps' resourceVersions by
// namespace/name.
func (r *Runner) ensure(ctx context.Context, p *process, svcs []corev1.Service, versions map[string]string) error {
	if p.kind == proxyRunner && p.dir != "" {
		if err := writeHosts(p.dir, p.pod.Namespace, svcs); err != nil {
			return err
		}
	}
	if p.kind == proxyRunner && p.running() && p.configMapsChanged(versions) {
		r.logf("pod %s/%s: a mounted ConfigMap changed: starting its process again", p.pod.Namespace, p.pod.Name)
		p.stop()
	}
	if p.running() || time.Since(p.exited) < restartPause {
		return nil
	}
	addr, port, err := address(p.pod, svcs)
	if err != nil {
		return err
	}
	switch p.kind {
	case proxyRunner:
		err = r.startProxyRunner(ctx, p, svcs, addr)
	case mcpServer:
		err = r.startMCPServer(ctx, p, addr, port)
	}
	if err != nil {
		return err
	}
	p.lastErr = ""
	r.logf("pod %s/%s: started %s on %s (pid %d)", p.pod.Namespace, p.pod.Name, p.kind, addr, p.cmd.Process.Pid)
	return nil
}

// restartPause is how long a process that exited waits to be started again.
const restartPause = 2 * time.Second
