package podrunner

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

func proxyPod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "demo", Name: "fetch-abc", Labels: map[string]string{"app.kubernetes.io/name": "mcpserver", "app.kubernetes.io/instance": "fetch"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "toolhive", Args: []string{"run", "--k8s-pod-patch={}", "img"}, Env: []corev1.EnvVar{
			{Name: "PLAIN", Value: "v"},
			{Name: "SECRET", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "k"}}},
			{Name: "POD_NAMESPACE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
		}}}},
	}
}

func TestKindOf(t *testing.T) {
	mcp := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"toolhive": "true"}, OwnerReferences: []metav1.OwnerReference{{Kind: "StatefulSet", Name: "fetch"}}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "mcp"}}},
	}
	other := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "toolhive", Args: []string{"run"}}}}}
	for name, tc := range map[string]struct {
		pod  *corev1.Pod
		want kind
	}{
		"ProxyRunner": {pod: proxyPod(), want: proxyRunner},
		"MCPServer":   {pod: mcp, want: mcpServer},
		"Unlabelled":  {pod: other, want: none},
	} {
		if got := kindOf(tc.pod); got != tc.want {
			t.Errorf("%s: kindOf = %q, want %q", name, got, tc.want)
		}
	}
}

func TestAddress(t *testing.T) {
	svc := func(name, ip string, sel map[string]string) corev1.Service {
		return corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "demo", Name: name}, Spec: corev1.ServiceSpec{
			ClusterIP: ip, Selector: sel, Ports: []corev1.ServicePort{{Port: 8080, TargetPort: intstr.FromInt32(9090)}},
		}}
	}
	svcs := []corev1.Service{
		svc("headless", corev1.ClusterIPNone, map[string]string{"app.kubernetes.io/instance": "fetch"}),
		svc("other", "10.0.0.7", map[string]string{"app": "other"}),
		svc("mcp-fetch-proxy", "10.0.1.94", map[string]string{"app.kubernetes.io/instance": "fetch"}),
	}
	ip, port, err := address(proxyPod(), svcs)
	if err != nil || ip != "127.100.1.94" || port != 9090 {
		t.Errorf("address = %s, %d, %v; want the selecting ClusterIP Service's loopback address and target port", ip, port, err)
	}
	if _, _, err := address(proxyPod(), svcs[:2]); err == nil {
		t.Error("address without a selecting ClusterIP Service: want an error")
	}
}

func TestEnv(t *testing.T) {
	r := &Runner{Kube: fake.NewClientBuilder().WithObjects(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "demo", Name: "s"}, Data: map[string][]byte{"k": []byte("secret-value")}}).Build()}
	pod := proxyPod()
	got, err := r.env(context.Background(), pod, &pod.Spec.Containers[0])
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"PATH=" + os.Getenv("PATH"), "PLAIN=v", "SECRET=secret-value", "POD_NAMESPACE=demo"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("env: -want, +got:\n%s", diff)
	}
	pod.Spec.Containers[0].Env[1].ValueFrom.SecretKeyRef.Key = "missing"
	if _, err := r.env(context.Background(), pod, &pod.Spec.Containers[0]); err == nil || !strings.Contains(err.Error(), "env SECRET") {
		t.Errorf("a missing key must keep the container from starting, as in kubelet: %v", err)
	}
}

func TestListenOn(t *testing.T) {
	path := filepath.Join(t.TempDir(), "runconfig.json")
	if err := os.WriteFile(path, []byte(`{"host":"0.0.0.0","port":8080,"oidc_config":{"Issuer":"https://idp"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := listenOn(path, "127.100.0.9"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	got := map[string]any{}
	_ = json.Unmarshal(b, &got)
	want := map[string]any{"host": "127.100.0.9", "port": float64(8080), "oidc_config": map[string]any{"Issuer": "https://idp"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("only host changes: -want, +got:\n%s", diff)
	}
}

func TestWriteHosts(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "etc"), 0o750); err != nil {
		t.Fatal(err)
	}
	svcs := []corev1.Service{
		{ObjectMeta: metav1.ObjectMeta{Namespace: "demo", Name: "mcp-fetch"}, Spec: corev1.ServiceSpec{ClusterIP: "10.0.0.133"}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "demo", Name: "mcp-fetch-headless"}, Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "other", Name: "x"}, Spec: corev1.ServiceSpec{ClusterIP: "10.0.0.5"}},
	}
	if err := writeHosts(dir, "demo", svcs); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "etc", "hosts"))
	want := "127.100.0.133 mcp-fetch mcp-fetch.demo mcp-fetch.demo.svc mcp-fetch.demo.svc.cluster.local\n"
	if !strings.HasSuffix(string(b), want) || strings.Contains(string(b), "10.0.0.5") || strings.Contains(string(b), "127.100.0.5") {
		t.Errorf("hosts:\n%s\nwant it to end with the namespace's ClusterIP Services:\n%s", b, want)
	}
}

func TestConfigMapsChanged(t *testing.T) {
	p := &process{pod: proxyPod(), configMaps: map[string]string{"fetch-runconfig": "7"}}
	for name, tc := range map[string]struct {
		versions map[string]string
		want     bool
	}{
		"Same":        {versions: map[string]string{"demo/fetch-runconfig": "7"}, want: false},
		"Changed":     {versions: map[string]string{"demo/fetch-runconfig": "8"}, want: true},
		"OtherNSOnly": {versions: map[string]string{"other/fetch-runconfig": "8"}, want: false},
		"Gone":        {versions: map[string]string{}, want: false},
	} {
		if got := p.configMapsChanged(tc.versions); got != tc.want {
			t.Errorf("%s: configMapsChanged = %v, want %v", name, got, tc.want)
		}
	}
}

// TestHolders: of the pods one Service selects, only the newest runs, as a
// rollout's new pod takes the traffic; pods of other Services run too.
func TestHolders(t *testing.T) {
	svcs := []corev1.Service{
		{ObjectMeta: metav1.ObjectMeta{Namespace: "demo", Name: "mcp-fetch-proxy"}, Spec: corev1.ServiceSpec{
			ClusterIP: "10.0.1.94", Selector: map[string]string{"app.kubernetes.io/instance": "fetch"}, Ports: []corev1.ServicePort{{Port: 8080}},
		}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "demo", Name: "mcp-other-proxy"}, Spec: corev1.ServiceSpec{
			ClusterIP: "10.0.1.95", Selector: map[string]string{"app.kubernetes.io/instance": "other"}, Ports: []corev1.ServicePort{{Port: 8080}},
		}},
	}
	pod := func(uid, instance string, created int64) *corev1.Pod {
		p := proxyPod()
		p.UID, p.Name = types.UID(uid), uid
		p.Labels["app.kubernetes.io/instance"] = instance
		p.CreationTimestamp = metav1.Unix(created, 0)
		return p
	}
	pods := map[types.UID]*corev1.Pod{}
	for _, p := range []*corev1.Pod{pod("old", "fetch", 100), pod("new", "fetch", 200), pod("twin-a", "other", 300), pod("twin-b", "other", 300), pod("lone", "none", 1)} {
		pods[p.UID] = p
	}
	want := map[string]types.UID{"127.100.1.94": "new", "127.100.1.95": "twin-b"}
	if diff := cmp.Diff(want, holders(pods, svcs)); diff != "" {
		t.Errorf("holders: -want, +got:\n%s", diff)
	}
}
