package main

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/crossmcp/provider-mcp/cluster/local/identity"
	"github.com/crossmcp/provider-mcp/cluster/local/kclient"
)

// The service accounts Crossplane's chart gives Crossplane core and its RBAC
// manager; crossplane-rbac.yaml binds them to the chart's ClusterRoles.
const (
	crossplaneSA  = "crossplane"
	rbacManagerSA = "rbac-manager"
)

//go:embed crossplane-rbac.yaml
var crossplaneRBAC []byte

// crossplaneIdentities gives Crossplane core and its RBAC manager the service
// accounts and ClusterRoles Crossplane's chart gives them.
func (pl *plane) crossplaneIdentities(ctx context.Context) error {
	if err := pl.ensureNamespace(ctx, crossplaneNS); err != nil {
		return err
	}
	return kclient.ApplyYAML(ctx, pl.kube, crossplaneRBAC, "crossplane-rbac.yaml", "")
}

// identities hands out the ServiceAccount identities of Crossplane, its RBAC
// manager, the provider and the proxy-runner pods (package identity), and
// keeps their tokens fresh.
func (pl *plane) identities(ctx context.Context) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", pl.p.Kubeconfig())
	if err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	caPEM, err := os.ReadFile(pl.certFile("ca.crt"))
	if err != nil {
		return err
	}
	pl.ids = &identity.Issuer{Dir: pl.p.Identities(), Server: apiserverURL, CAPEM: caPEM, Tokens: cs}
	go pl.ids.Rotate(ctx, func(format string, args ...any) {
		fmt.Printf("%s %s\n", time.Now().Format(time.TimeOnly), fmt.Sprintf(format, args...))
	})
	return nil
}
