//go:build integration

package integration

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crossmcp/provider-mcp/test/wait"
)

// TestProviderBinary starts the real provider command against the apiserver
// and checks what an operator relies on: the health and metrics endpoints,
// and that the CRD gate opened and started the controllers.
func TestProviderBinary(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "provider")
	build := exec.Command("go", "build", "-o", bin, "../../cmd/provider")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("cannot build the provider: %v\n%s", err, out)
	}
	kc := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kc, kubeconfig, 0o600); err != nil {
		t.Fatal(err)
	}
	metrics, health := freePort(t), freePort(t)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, bin,
		"--poll", "1h",
		"--max-reconcile-rate", "5",
		"--metrics-bind-address", metrics,
		"--health-probe-bind-address", health,
	)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kc)
	logs := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("provider logs:\n%s", logs.String())
		}
	}()

	for _, path := range []string{"/healthz", "/readyz"} {
		wait.For(t, 30*time.Second, "provider "+path, func() string {
			body, code := get("http://" + health + path)
			if code != http.StatusOK {
				return fmt.Sprintf("status %d: %s", code, body)
			}
			return ""
		})
	}
	// The gated controllers register their workqueue metrics once started.
	wait.For(t, 30*time.Second, "controllers started", func() string {
		body, _ := get("http://" + metrics + "/metrics")
		for _, c := range []string{"managed/externalauthconfig.auth.mcp.crossmcp.io", "providerconfig/providerconfig.mcp.crossmcp.io", "providerconfig/clusterproviderconfig.mcp.crossmcp.io"} {
			if !strings.Contains(body, `controller="`+c+`"`) {
				return "no metrics of controller " + c
			}
		}
		return ""
	})
	// crossplane-runtime's state metrics are recorded from the start, for
	// however many configs there are.
	wait.For(t, 30*time.Second, "managed resource state metrics", func() string {
		body, _ := get("http://" + metrics + "/metrics")
		if !strings.Contains(body, `crossplane_managed_resource_exists{gvk="auth.mcp.crossmcp.io/v1alpha1, Kind=ExternalAuthConfig"}`) {
			return "no crossplane_managed_resource_exists for ExternalAuthConfig"
		}
		return ""
	})
	if strings.Contains(logs.String(), idp.ClientSecret) {
		t.Error("the provider logged a client secret")
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func get(url string) (string, int) {
	resp, err := http.Get(url) //nolint:noctx // A test of our own endpoint.
	if err != nil {
		return err.Error(), 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return string(b), resp.StatusCode
}
