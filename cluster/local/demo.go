package main

import (
	"context"
	"fmt"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossmcp/provider-mcp/cluster/local/demo"
)

// demoPlane is what the example needs of this plane.
func demoPlane(p *paths) demo.Plane {
	return demo.Plane{
		Paths:    p,
		Issuer:   "https://" + authServerAddr,
		IssuerCA: client.ObjectKey{Namespace: crossplaneNS, Name: idpCASecret},
		Identities: fmt.Sprintf("The apiserver authorizes with RBAC: Crossplane runs as %s/%s, its RBAC manager as %s/%s and the provider as the\nServiceAccount of its revision's Deployment in %s (kubeconfigs in %s); the function has no Kubernetes access.",
			crossplaneNS, crossplaneSA, crossplaneNS, rbacManagerSA, crossplaneNS, p.Identities()),
	}
}

type applyCmd struct {
	Timeout time.Duration `default:"5m" help:"How long to wait for the MCPServer to be Ready."`
}

// Run applies the quick-start example and waits for it.
func (c *applyCmd) Run(p *paths) error {
	ctx, cancel := context.WithTimeout(context.Background(), c.Timeout)
	defer cancel()
	return demo.Apply(ctx, demoPlane(p), c.Timeout)
}

type summaryCmd struct{}

// Run says what runs and how to reach it.
func (c *summaryCmd) Run(p *paths) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return demo.Summary(ctx, demoPlane(p))
}

type callCmd struct {
	Namespace string        `default:"demo" help:"Namespace of the MCPServer."`
	Name      string        `default:"fetch" help:"Name of the MCPServer."`
	Subject   string        `default:"alice" help:"The user whose token the call carries."`
	Audience  string        `default:"mcp-fetch" help:"Audience of the user's token: the MCPServer's spec.oidc.audience."`
	Timeout   time.Duration `default:"2m" help:"How long to wait for the proxy to serve."`
}

// Run calls the MCP server through the real proxy runner as a user.
func (c *callCmd) Run(p *paths) error {
	ctx, cancel := context.WithTimeout(context.Background(), c.Timeout)
	defer cancel()
	return demo.Call(ctx, demoPlane(p), demo.Caller{Namespace: c.Namespace, Name: c.Name, Subject: c.Subject, Audience: c.Audience, Timeout: c.Timeout})
}
