package podrunner

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The proxy runner sees the host's /etc with the pod's files laid over it
// (overlayfs in a mount namespace of its own) and a private /tmp. Only mounts
// under /etc can be laid over; the pods we compose have no others.
const script = `set -e
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$1/etc,workdir=$1/work" /etc
mount -t tmpfs tmpfs /tmp
cd "$1"
shift
exec "$@"`

const saMountPath = "/var/run/secrets/kubernetes.io/serviceaccount"

// startProxyRunner lays out the pod's files and runs thv-proxyrunner with the
// pod's arguments.
func (r *Runner) startProxyRunner(ctx context.Context, p *process, svcs []corev1.Service, addr string) error {
	c := container(p.pod, "toolhive")
	if c == nil {
		return fmt.Errorf("no container toolhive")
	}
	p.dir = filepath.Join(r.Dir, p.pod.Namespace+"."+p.pod.Name)
	for _, d := range []string{"etc", "work"} {
		if err := os.MkdirAll(filepath.Join(p.dir, d), 0o750); err != nil {
			return err
		}
	}
	env, err := r.env(ctx, p.pod, c)
	if err != nil {
		return err
	}
	kc, err := r.Kubeconfig(ctx, p.pod.Namespace, p.pod.Spec.ServiceAccountName)
	if err != nil {
		return err
	}
	env = append(env, "KUBECONFIG="+kc)
	p.configMaps = map[string]string{}
	if err := r.volumes(ctx, p.pod, c, filepath.Join(p.dir, "etc"), p.configMaps); err != nil {
		return err
	}
	if err := listenOn(filepath.Join(p.dir, "etc", "runconfig", "runconfig.json"), addr); err != nil {
		return err
	}
	if err := writeHosts(p.dir, p.pod.Namespace, svcs); err != nil {
		return err
	}
	if err := r.writeRoots(filepath.Join(p.dir, "etc", "ssl", "certs")); err != nil {
		return err
	}
	args := []string{"--mount", "--propagation", "private"}
	if os.Geteuid() != 0 {
		args = append([]string{"--user", "--map-root-user"}, args...)
	}
	args = append(args, "sh", "-c", script, "sh", p.dir, r.ProxyRunner)
	cmd := exec.Command("unshare", append(args, c.Args...)...)
	cmd.Env = env
	return r.start(p, cmd)
}

// configMapsChanged reports whether a ConfigMap p's process was started with
// changed since. Kubelet would update the files; the runner reads them only
// at start, so the process starts again instead.
func (p *process) configMapsChanged(versions map[string]string) bool {
	for name, rv := range p.configMaps {
		if now, ok := versions[p.pod.Namespace+"/"+name]; ok && now != rv {
			return true
		}
	}
	return false
}

func container(pod *corev1.Pod, name string) *corev1.Container {
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == name {
			return &pod.Spec.Containers[i]
		}
	}
	return nil
}

// volumes writes the ConfigMap volumes c mounts into etc, at their mount
// paths below /etc, and records the versions it wrote in seen.
func (r *Runner) volumes(ctx context.Context, pod *corev1.Pod, c *corev1.Container, etc string, seen map[string]string) error {
	for _, m := range c.VolumeMounts {
		// The ServiceAccount token kubelet projects reaches the runner as
		// a kubeconfig instead (Runner.Kubeconfig).
		if m.MountPath == saMountPath {
			continue
		}
		rel, ok := strings.CutPrefix(m.MountPath, "/etc/")
		if !ok {
			return fmt.Errorf("volume %s is mounted at %s: the plane lays files over /etc only", m.Name, m.MountPath)
		}
		var src *corev1.ConfigMapVolumeSource
		for _, v := range pod.Spec.Volumes {
			if v.Name == m.Name {
				src = v.ConfigMap
			}
		}
		if src == nil {
			return fmt.Errorf("volume %s is not a ConfigMap volume", m.Name)
		}
		cm := &corev1.ConfigMap{}
		if err := r.Kube.Get(ctx, client.ObjectKey{Namespace: pod.Namespace, Name: src.Name}, cm); err != nil {
			return fmt.Errorf("volume %s: %w", m.Name, err)
		}
		seen[cm.Name] = cm.ResourceVersion
		files := map[string]string{}
		for k, v := range cm.Data {
			files[k] = v
		}
		if len(src.Items) > 0 {
			files = map[string]string{}
			for _, it := range src.Items {
				files[it.Path] = cm.Data[it.Key]
			}
		}
		dir := filepath.Join(etc, filepath.Clean(rel))
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return err
		}
		for name, data := range files {
			if err := os.WriteFile(filepath.Join(dir, filepath.Base(name)), []byte(data), 0o600); err != nil {
				return err
			}
		}
	}
	return nil
}

// listenOn makes the RunConfig's proxy listen on the pod's loopback address
// instead of 0.0.0.0, which every pod of the plane shares: the one change
// the plane makes to what the function rendered.
func listenOn(path, addr string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("no RunConfig mounted at /etc/runconfig: %w", err)
	}
	rc := map[string]any{}
	if err := json.Unmarshal(b, &rc); err != nil {
		return fmt.Errorf("runconfig.json: %w", err)
	}
	rc["host"] = addr
	out, err := json.MarshalIndent(rc, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, 0o600)
}

// writeRoots gives the pod the host's CA roots plus ExtraCA.
func (r *Runner) writeRoots(dir string) error {
	host, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "ca-certificates.crt"), append(append(host, '\n'), r.ExtraCA...), 0o600) //nolint:gosec // dir is the pod's folder, named after its namespace and name: DNS names, no traversal.
}
