package demo

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossmcp/provider-mcp/cluster/local/kclient"
	"github.com/crossmcp/provider-mcp/cluster/local/podrunner"
	"github.com/crossmcp/provider-mcp/cluster/local/proc"
	"github.com/crossmcp/provider-mcp/cluster/local/state"
	"github.com/crossmcp/provider-mcp/test/mcpecho/whoami"
)

// A Caller is a user calling an MCPServer through its proxy.
type Caller struct {
	Namespace, Name string
	// Subject is the user; Audience the audience of their token.
	Subject, Audience string
	Timeout           time.Duration
}

// Call calls the MCP server through ToolHive's real proxy runner, as a user:
// once without a token, then with a token of the local authorization
// server, and shows what the MCP server behind the proxy received.
func Call(ctx context.Context, pl Plane, c Caller) error {
	p := pl.Paths
	kube, err := kclient.New(p.Kubeconfig())
	if err != nil {
		return err
	}
	endpoint, err := proxyEndpoint(ctx, kube, c.Namespace, c.Name)
	if err != nil {
		return err
	}
	fmt.Printf("== A call through the proxy runner (thv-proxyrunner) at %s\n", endpoint)
	if err := waitServing(ctx, endpoint, c.Timeout); err != nil {
		return err
	}
	status, challenge, err := whoami.Anonymous(ctx, endpoint)
	if err != nil {
		return err
	}
	fmt.Printf("  without a token:  %s, WWW-Authenticate: %s\n", status, challenge)

	idp, err := idpClient(p)
	if err != nil {
		return err
	}
	tok, err := whoami.DemoToken(ctx, idp, pl.Issuer, c.Subject, []string{c.Audience}, nil)
	if err != nil {
		return err
	}
	// The runner may answer before it resolves the MCP server's Service,
	// which it creates itself: it reads the hosts file again within
	// seconds. So the call is tried until it succeeds or time runs out.
	var (
		r    whoami.Report
		last error
	)
	if err := wait.PollUntilContextTimeout(ctx, time.Second, c.Timeout, true, func(ctx context.Context) (bool, error) {
		r, last = whoami.Call(ctx, endpoint, http.Header{"Authorization": {"Bearer " + tok}})
		return last == nil, nil
	}); err != nil {
		return fmt.Errorf("the call with %s's token failed: %w (proxy log: %s)", c.Subject, last, filepath.Join(p.State, "pods"))
	}
	fmt.Printf("  with %s's token (aud %s): initialize and tools/call whoami succeeded; the MCP server received:\n", c.Subject, c.Audience)
	printReport(r)
	return nil
}

// proxyEndpoint is the MCP endpoint of the proxy Service mcp-<name>-proxy,
// at the loopback address the plane gives its ClusterIP.
func proxyEndpoint(ctx context.Context, kube client.Client, ns, name string) (string, error) {
	svc := &corev1.Service{}
	if err := kube.Get(ctx, client.ObjectKey{Namespace: ns, Name: "mcp-" + name + "-proxy"}, svc); err != nil {
		return "", err
	}
	ip, err := podrunner.Loopback(svc.Spec.ClusterIP)
	if err != nil || len(svc.Spec.Ports) == 0 {
		return "", fmt.Errorf("service %s/%s has no address: %w", ns, svc.Name, err)
	}
	return "http://" + net.JoinHostPort(ip, strconv.Itoa(int(svc.Spec.Ports[0].Port))) + "/mcp", nil
}

// waitServing waits until the proxy answers its health check.
func waitServing(ctx context.Context, endpoint string, timeout time.Duration) error {
	health := strings.TrimSuffix(endpoint, "/mcp") + "/health"
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		return proc.HTTPOK(&http.Client{Timeout: 2 * time.Second}, health)(ctx) == nil, nil
	})
	if err != nil {
		return errors.New("the proxy runner does not serve " + health + ": see the pod logs in .cache/local/pods")
	}
	return nil
}

// idpClient trusts the local authorization server's CA.
func idpClient(p *state.Paths) (*http.Client, error) {
	ca, err := os.ReadFile(filepath.Join(p.Certs(), "idp-ca.crt"))
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}, nil
}

func printReport(r whoami.Report) {
	names := make([]string, 0, len(r.Tokens))
	for h := range r.Tokens {
		names = append(names, h)
	}
	sort.Strings(names)
	for _, h := range names {
		cl := r.Tokens[h]
		if cl == nil {
			fmt.Printf("    %s: a bearer token that is no JWT\n", h)
			continue
		}
		fmt.Printf("    %s: Bearer <a token issued by %s> sub=%s aud=%s scope=%q client_id=%s\n", h, cl.Issuer, cl.Subject, strings.Join(cl.Audience, ","), cl.Scope, cl.ClientID)
	}
}
