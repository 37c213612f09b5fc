// Command mcpecho is the MCP server the embedded control plane runs in place
// of an MCP server's image, behind ToolHive's real proxy runner: streamable
// HTTP, or SSE when the runner sets MCP_TRANSPORT=sse, one tool, whoami, which reports what the request reached it with:
// the claims of every bearer token it carried (in Authorization or any other
// header), unverified, since it only shows what the proxy sent. Raw tokens
// are never echoed or logged.
package main

import (
	"cmp"
	"context"
	"flag"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/crossmcp/provider-mcp/test/mcpecho/whoami"
)

func main() {
	addr := flag.String("address", "127.0.0.1:8080", "Address to serve MCP on (any path).")
	transport := flag.String("transport", "", "streamable-http or sse. Default: $MCP_TRANSPORT, as the runner sets it, else streamable-http.")
	flag.Parse()

	// A server per session: over SSE a tool call carries no HTTP request of
	// its own, so it reports the request that opened the session's stream.
	get := func(r *http.Request) *mcp.Server { return server(r.Header.Clone()) }
	// It stands in for a pod, which the plane puts on a loopback address:
	// the SDK's DNS-rebinding guard for local servers would refuse the
	// proxy's Host header (the Service's name).
	var (
		h    http.Handler
		mode string
	)
	switch cmp.Or(*transport, os.Getenv("MCP_TRANSPORT"), "streamable-http") {
	case "streamable-http":
		h, mode = mcp.NewStreamableHTTPHandler(get, &mcp.StreamableHTTPOptions{DisableLocalhostProtection: true}), "streamable-http"
	case "sse":
		h, mode = mcp.NewSSEHandler(get, &mcp.SSEOptions{DisableLocalhostProtection: true}), "sse"
	default:
		log.Fatal("unknown transport: mcpecho serves streamable-http and sse")
	}
	s := &http.Server{Addr: *addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	log.Printf("mcpecho serving MCP (%s)", mode)
	log.Fatal(s.ListenAndServe())
}

// server serves the whoami tool, which reports the headers of the request
// that carried the call, or else those of the request that opened the
// session.
func server(opened http.Header) *mcp.Server {
	srv := mcp.NewServer(&mcp.Implementation{Name: "mcpecho", Version: "v1"}, nil)
	mcp.AddTool(srv, &mcp.Tool{Name: whoami.ToolName, Description: "Reports the bearer tokens' claims this request reached the MCP server with."},
		func(_ context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, whoami.Report, error) {
			if req.Extra != nil && req.Extra.Header != nil {
				return nil, whoami.FromHeader(req.Extra.Header), nil
			}
			return nil, whoami.FromHeader(opened), nil
		})
	return srv
}
