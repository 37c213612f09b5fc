package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/crossmcp/provider-mcp/cluster/local/kclient"
	"github.com/crossmcp/provider-mcp/cluster/local/podrunner"
	"github.com/crossmcp/provider-mcp/test/authserver"
)

// registry serves an OCI registry on loopback, blobs on disk. Packages are
// pushed by `local install`; a restarted plane needs them pushed again.
func (pl *plane) registry(ctx context.Context) error {
	dir := filepath.Join(pl.p.State, "registry")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", registryAddr)
	if err != nil {
		return fmt.Errorf("cannot serve the registry: %w", err)
	}
	logf, err := os.OpenFile(pl.p.Log("registry"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           registry.New(registry.WithBlobHandler(registry.NewDiskBlobHandler(dir)), registry.Logger(newLogger(logf))),
		ReadHeaderTimeout: 30 * time.Second,
	}
	go func() { _ = srv.Serve(ln) }()
	go func() {
		<-ctx.Done()
		_ = srv.Close()
		_ = logf.Close()
	}()
	return nil
}

// authServer runs a real OAuth 2.0 authorization server with RFC 8693 token
// exchange (zitadel's OpenID provider) for the quick-start example, and
// publishes its CA where the example's ClusterProviderConfig reads it. Its
// CA is the plane's, so what trusted it before a restart trusts it after.
func (pl *plane) authServer(ctx context.Context) error {
	s, err := authserver.Start(ctx, authserver.Options{Addr: authServerAddr, ClientID: idpClientID, ClientSecret: idpSecretValue, DemoLogin: true, CA: pl.ca})
	if err != nil {
		return fmt.Errorf("cannot start the authorization server: %w", err)
	}
	if err := os.WriteFile(pl.certFile("idp-ca.crt"), s.CAPEM, 0o600); err != nil {
		return err
	}
	if err := pl.ensureNamespace(ctx, crossplaneNS); err != nil {
		return err
	}
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: idpCASecret, Namespace: crossplaneNS}}
	err = kclient.CreateOrUpdate(ctx, pl.kube, sec, func() { sec.Data = map[string][]byte{"ca.crt": s.CAPEM} })
	return err
}

// podRunner plays kubelet for the node's pods: every pod runs and is ready,
// and the real thv-proxyrunner runs what the function rendered (package
// podrunner).
func (pl *plane) podRunner(ctx context.Context) error {
	idpCA, err := os.ReadFile(pl.certFile("idp-ca.crt"))
	if err != nil {
		return err
	}
	r := &podrunner.Runner{
		Kube: pl.kube, Node: nodeName, Dir: filepath.Join(pl.p.State, "pods"),
		ProxyRunner: pl.p.Tool("thv-proxyrunner"), MCPServer: filepath.Join(pl.p.Bin, "mcpecho"),
		Kubeconfig: pl.ids.Kubeconfig, ExtraCA: idpCA, Log: os.Stdout,
	}
	if err := os.MkdirAll(r.Dir, 0o750); err != nil {
		return err
	}
	go r.Run(ctx)
	return nil
}

func newLogger(w io.Writer) *log.Logger { return log.New(w, "", log.LstdFlags) }
