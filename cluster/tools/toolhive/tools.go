//go:build tools

// Package tools pins the ToolHive proxy runner this module builds: the
// consumer of everything function-mcp-server renders.
package tools

import _ "github.com/stacklok/toolhive/cmd/thv-proxyrunner"
