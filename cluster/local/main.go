// Command local runs the embedded local control plane of provider-mcp: etcd,
// kube-apiserver, kube-controller-manager, kube-scheduler, one node whose
// kubelet it plays (so Deployments become Available), Crossplane core with its webhooks, a
// local OCI registry and an OAuth 2.0 authorization server, all on
// 127.0.0.1 and all built from pinned Go modules. It plays Crossplane's
// package runtime for our provider and function, running them as local
// processes.
//
//	local start     start the plane in the background; wait until it serves
//	local install   build, push and install the three packages
//	local apply     apply the quick-start example and wait for it
//	local summary   say what runs and how to reach it
//	local call      call the MCP server through the real proxy runner as a user
//	local up        all five, in that order (make run)
//	local status    what is running
//	local stop      stop everything the plane started (make stop)
//
// For fault tests on a running plane:
//
//	local restart NAME   stop a component (kube-apiserver, etcd, …) and start it again
//	local hold NAME      stop the provider or function and keep it down
//	local release NAME   let the package runtime start it again
package main

import (
	"github.com/alecthomas/kong"

	"github.com/crossmcp/provider-mcp/cluster/local/state"
)

// cli holds the flags every command shares: where things are.
type cli struct {
	State string `default:".cache/local" env:"LOCAL_STATE_DIR" help:"Folder of the plane's state, logs and kubeconfig."`
	Tools string `default:".cache/tools/bin" env:"TOOLS_BIN" help:"Folder of the pinned tools (cluster/tools/build.sh)."`
	Bin   string `default:"_output/bin" help:"Folder of the provider and function binaries (make build)."`

	Start     startCmd     `cmd:"" help:"Start the control plane in the background and wait until it serves."`
	Install   installCmd   `cmd:"" help:"Build the provider, function and configuration packages, push them to the local registry and install configuration-mcp."`
	Apply     applyCmd     `cmd:"" help:"Apply the quick-start example and wait until it is Ready."`
	Summary   summaryCmd   `cmd:"" help:"Print what runs and how to reach it."`
	Call      callCmd      `cmd:"" help:"Call the example MCP server through ToolHive's real proxy runner with a user's token, and show what the server received."`
	Up        upCmd        `cmd:"" help:"start, install, apply and summary: what make run does."`
	Status    statusCmd    `cmd:"" help:"Print the state of every component."`
	Stop      stopCmd      `cmd:"" help:"Stop everything the plane started."`
	Restart   restartCmd   `cmd:"" help:"Stop one component of the running plane and start it again; wait until it serves."`
	Hold      holdCmd      `cmd:"" help:"Stop the provider or function and keep it down (the package runtime restarts them otherwise) until release."`
	Release   releaseCmd   `cmd:"" help:"Let the package runtime run a held provider or function again; wait until it runs."`
	Supervise superviseCmd `cmd:"" hidden:"" help:"Run the plane in the foreground (start runs this in the background)."`
}

func main() {
	var c cli
	kctx := kong.Parse(&c, kong.Name("local"), kong.Description("The embedded local control plane of provider-mcp."), kong.UsageOnError())
	p, err := c.paths()
	kctx.FatalIfErrorf(err)
	kctx.FatalIfErrorf(kctx.Run(p))
}

// paths are the plane's folders (package state).
type paths = state.Paths

func (c *cli) paths() (*paths, error) { return state.New(c.State, c.Tools, c.Bin, ".") }
