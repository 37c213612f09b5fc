// Command mcpecho is the MCP server the embedded control plane runs in place
// of an MCP server's image, behind ToolHive's real proxy runner: streamable
// HTTP, one tool, whoami, which reports what the request reached it with:
// the claims of every bearer token it carried (in Authorization or any other
// header), unverified, since it only shows what the proxy sent. Raw tokens
// are never echoed or logged.
package main

import (
	"context"
	"flag"
	"log"
	"net/http"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/crossmcp/provider-mcp/test/mcpecho/whoami"
)

func main() {
	addr := flag.String("address", "127.0.0.1:8080", "Address to serve MCP on (streamable HTTP, any path).")
	flag.Parse()

	srv := mcp.NewServer(&mcp.Implementation{Name: "mcpecho", Version: "v1"}, nil)
	mcp.AddTool(srv, &mcp.Tool{Name: whoami.ToolName, Description: "Reports the bearer tokens' claims this request reached the MCP server with."},
		func(_ context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, whoami.Report, error) {
			return nil, whoami.FromHeader(req.Extra.Header), nil
		})
	// It stands in for a pod, which the plane puts on a loopback address:
	// the SDK's DNS-rebinding guard for local servers would refuse the
	// proxy's Host header (the Service's name).
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, &mcp.StreamableHTTPOptions{DisableLocalhostProtection: true})
	s := &http.Server{Addr: *addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	log.Printf("mcpecho serving MCP on %s", *addr)
	log.Fatal(s.ListenAndServe())
}
