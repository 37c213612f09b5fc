package podrunner

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// env is a container's environment as kubelet gives it: literal values,
// secretKeyRef and configMapKeyRef read from the apiserver, the pod's name
// and namespace, plus the host's PATH (the image's, here). A reference that
// cannot be resolved keeps the container from starting, as in kubelet.
func (r *Runner) env(ctx context.Context, pod *corev1.Pod, c *corev1.Container) ([]string, error) {
	out := []string{"PATH=" + os.Getenv("PATH")}
	for _, e := range c.Env {
		v, err := r.value(ctx, pod, e)
		if err != nil {
			return nil, fmt.Errorf("env %s: %w", e.Name, err)
		}
		out = append(out, e.Name+"="+v)
	}
	return out, nil
}

func (r *Runner) value(ctx context.Context, pod *corev1.Pod, e corev1.EnvVar) (string, error) {
	f := e.ValueFrom
	switch {
	case f == nil:
		return e.Value, nil
	case f.SecretKeyRef != nil:
		s := &corev1.Secret{}
		if err := r.Kube.Get(ctx, client.ObjectKey{Namespace: pod.Namespace, Name: f.SecretKeyRef.Name}, s); err != nil {
			return "", err
		}
		v, ok := s.Data[f.SecretKeyRef.Key]
		if !ok {
			return "", fmt.Errorf("secret %s has no key %s", f.SecretKeyRef.Name, f.SecretKeyRef.Key)
		}
		return string(v), nil
	case f.ConfigMapKeyRef != nil:
		cm := &corev1.ConfigMap{}
		if err := r.Kube.Get(ctx, client.ObjectKey{Namespace: pod.Namespace, Name: f.ConfigMapKeyRef.Name}, cm); err != nil {
			return "", err
		}
		v, ok := cm.Data[f.ConfigMapKeyRef.Key]
		if !ok {
			return "", fmt.Errorf("configmap %s has no key %s", f.ConfigMapKeyRef.Name, f.ConfigMapKeyRef.Key)
		}
		return v, nil
	case f.FieldRef != nil && f.FieldRef.FieldPath == "metadata.name":
		return pod.Name, nil
	case f.FieldRef != nil && f.FieldRef.FieldPath == "metadata.namespace":
		return pod.Namespace, nil
	}
	return "", fmt.Errorf("the plane cannot resolve %+v", *f)
}

// writeHosts writes the pod's /etc/hosts: the host's, then every Service of
// ns with a ClusterIP under the names a pod resolves it by. It writes in
// place, only on change, so the overlaid file keeps its inode and Go's
// resolver sees the change.
func writeHosts(dir, ns string, svcs []corev1.Service) error {
	host, err := os.ReadFile("/etc/hosts")
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	var lines []string
	for _, s := range svcs {
		if s.Namespace != ns || s.Spec.ClusterIP == "" || s.Spec.ClusterIP == corev1.ClusterIPNone {
			continue
		}
		ip, err := Loopback(s.Spec.ClusterIP)
		if err != nil {
			continue
		}
		n := s.Name
		lines = append(lines, fmt.Sprintf("%s %s %s.%s %s.%s.svc %s.%s.svc.cluster.local", ip, n, n, ns, n, ns, n, ns))
	}
	slices.Sort(lines)
	want := append(append(bytes.TrimRight(host, "\n"), '\n'), []byte(strings.Join(lines, "\n")+"\n")...)
	path := filepath.Join(dir, "etc", "hosts")
	if have, err := os.ReadFile(path); err == nil && bytes.Equal(have, want) {
		return nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(want); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
