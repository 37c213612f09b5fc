// Command function runs function-mcp-server, the composition function that
// renders MCP server workloads behind the ToolHive proxy runner.
package main

import (
	"github.com/alecthomas/kong"

	function "github.com/crossplane/function-sdk-go"

	fn "github.com/crossmcp/provider-mcp/internal/function"
)

// cli holds the flags every Crossplane function takes, plus where metrics go.
type cli struct {
	Debug          bool   `short:"d" help:"Emit debug logs in addition to info logs."`
	Network        string `default:"tcp" help:"Network on which to listen for gRPC connections."`
	Address        string `default:":9443" help:"Address at which to listen for gRPC connections."`
	TLSCertsDir    string `env:"TLS_SERVER_CERTS_DIR" help:"Directory containing server certs (tls.key, tls.crt) and the CA used to verify client certificates (ca.crt)."`
	Insecure       bool   `help:"Run without mTLS credentials. For crossplane render and local development only."`
	MetricsAddress string `env:"METRICS_ADDRESS" help:"Address of the Prometheus metrics endpoint, e.g. 127.0.0.1:8080. Empty (the default) serves no metrics."`
}

func main() {
	var c cli
	kctx := kong.Parse(&c, kong.Name("function"), kong.Description("Crossplane composition function rendering MCP servers behind the ToolHive proxy runner with token exchange."))
	kctx.FatalIfErrorf(c.run())
}

func (c *cli) run() error {
	log, err := function.NewLogger(c.Debug)
	if err != nil {
		return err
	}
	log.Info("Starting function-mcp-server", "address", c.Address, "insecure", c.Insecure, "metrics", c.MetricsAddress)
	return function.Serve(fn.New(log),
		function.Listen(c.Network, c.Address),
		function.MTLSCertificates(c.TLSCertsDir),
		function.Insecure(c.Insecure),
		function.WithMetricsServer(c.MetricsAddress))
}
