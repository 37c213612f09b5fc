// Command release builds provider-mcp's Crossplane packages for every
// platform (make xpkg) and pushes them to a registry (make publish).
package main

import (
	"fmt"
	"path/filepath"

	"github.com/alecthomas/kong"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/crossmcp/provider-mcp/cluster/runtimeimage"
	"github.com/crossmcp/provider-mcp/cluster/xpkg"
)

type cli struct {
	Out      string `default:"_output/xpkg" type:"path" help:"Folder of the package files."`
	Version  string `required:"" help:"Package version, a semantic version with a leading v."`
	Revision string `help:"Source revision, for the images' org.opencontainers.image.revision label."`

	Build buildCmd `cmd:"" help:"Build every package: provider-mcp and function-mcp-server for each platform, configuration-mcp."`
	Push  pushCmd  `cmd:"" help:"Push the built packages: one multi-platform index each."`
}

type buildCmd struct {
	Bin string `default:"_output/bin" type:"path" help:"Folder with a <os>_<arch> folder of binaries per platform."`
}

type pushCmd struct {
	Registry string `required:"" help:"Registry and organisation to push to, e.g. xpkg.crossplane.io/crossmcp."`
}

func main() {
	var c cli
	kctx := kong.Parse(&c, kong.Name("release"), kong.Description("Build and push provider-mcp's Crossplane packages."))
	kctx.FatalIfErrorf(kctx.Run(&c))
}

func (c *cli) builder() xpkg.Builder {
	return xpkg.Builder{Out: c.Out, Version: c.Version, Revision: c.Revision}
}

// Run writes every package file.
func (b *buildCmd) Run(c *cli) error {
	x := c.builder()
	x.Binary = func(pk xpkg.Package, p v1.Platform) string {
		return filepath.Join(b.Bin, p.OS+"_"+p.Architecture, pk.Binary)
	}
	for _, pk := range xpkg.All {
		files, err := x.Build(pk, runtimeimage.Platforms)
		if err != nil {
			return err
		}
		for _, f := range files {
			fmt.Println(f)
		}
	}
	return nil
}

// Run pushes each package's files as <registry>/<name>:<version>.
func (p *pushCmd) Run(c *cli) error {
	x := c.builder()
	for _, pk := range xpkg.All {
		ref := p.Registry + "/" + pk.Name + ":" + c.Version
		if err := x.Push(x.Files(pk, runtimeimage.Platforms), ref); err != nil {
			return err
		}
		fmt.Println("pushed", ref)
	}
	return nil
}
