// Package xpkg builds and pushes provider-mcp's three Crossplane packages
// with the crossplane CLI: provider-mcp and function-mcp-server with one
// package file per platform, each embedding that platform's runtime image
// (package runtimeimage), and configuration-mcp. Pushing a package's files
// together makes one multi-platform index.
package xpkg

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/crossmcp/provider-mcp/cluster/runtimeimage"
)

// A Package is one of our packages: its name, the folder with its
// crossplane.yaml and CRDs, its binary, if it runs one, and the folder of
// examples it carries, if any.
type Package struct {
	Name, Root, Binary, Examples string
}

// The packages, dependencies first. The provider carries its managed
// resource's examples; the configuration every example, as they use its
// XRs and the provider's config.
var (
	Provider      = Package{Name: "provider-mcp", Root: "package/provider", Binary: "provider", Examples: "examples/externalauthconfig"}
	Function      = Package{Name: "function-mcp-server", Root: "package/function", Binary: "function"}
	Configuration = Package{Name: "configuration-mcp", Root: "package/configuration", Examples: "examples"}
	All           = []Package{Provider, Function, Configuration}
)

// A Builder writes package files into Out.
type Builder struct {
	// CLI is the crossplane CLI.
	CLI string
	Out string
	// Version and Revision label the runtime images (the package version
	// and the source revision).
	Version, Revision string
	// Binary returns where a package's binary for a platform is.
	Binary func(pk Package, p v1.Platform) string
}

// File is the package file of pk for platform p (nil for a package without
// a binary): <name>-<version>[-<os>-<arch>].xpkg.
func (b Builder) File(pk Package, p *v1.Platform) string {
	name := pk.Name + "-" + b.Version
	if p != nil {
		name += "-" + p.OS + "-" + p.Architecture
	}
	return filepath.Join(b.Out, name+".xpkg")
}

// Files are the package files of pk: one per platform for a package with
// a binary, else one. Build writes them in this order.
func (b Builder) Files(pk Package, platforms []v1.Platform) []string {
	if pk.Binary == "" {
		return []string{b.File(pk, nil)}
	}
	files := make([]string, 0, len(platforms))
	for _, p := range platforms {
		files = append(files, b.File(pk, &p))
	}
	return files
}

var fileName = regexp.MustCompile(`^(.+?)-(v\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+?)??)(-linux-[a-z0-9]+)?\.xpkg$`)

// ParseFile returns the package name and version of a file File named.
func ParseFile(path string) (name, version string, ok bool) {
	m := fileName.FindStringSubmatch(filepath.Base(path))
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}

// Build writes pk's package files, one per platform for a package with a
// binary, and returns their paths.
func (b Builder) Build(pk Package, platforms []v1.Platform) ([]string, error) {
	if err := os.MkdirAll(b.Out, 0o750); err != nil {
		return nil, err
	}
	// The CLI takes ./examples when told nothing: name a folder that does
	// not exist for a package without examples.
	examples := filepath.Join(b.Out, "no-examples")
	if pk.Examples != "" {
		examples = pk.Examples
	}
	args := []string{"xpkg", "build", "--package-root=" + pk.Root, "--examples-root=" + examples}
	files := b.Files(pk, platforms)
	if pk.Binary == "" {
		return files, b.run(append(args, "--package-file="+files[0])...)
	}
	for i, p := range platforms {
		img, err := runtimeimage.Build(runtimeimage.Options{
			Binary:     b.Binary(pk, p),
			Platform:   p,
			Entrypoint: "/" + pk.Binary,
			Title:      pk.Name,
			Source:     runtimeimage.Source,
			Version:    b.Version,
			Revision:   b.Revision,
		})
		if err != nil {
			return nil, fmt.Errorf("cannot build the %s runtime image of %s: %w", p, pk.Name, err)
		}
		tarball := filepath.Join(b.Out, pk.Name+"-runtime-"+p.OS+"-"+p.Architecture+".tar")
		if err := runtimeimage.WriteTarball(img, tarball); err != nil {
			return nil, err
		}
		err = b.run(append(args, "--embed-runtime-image-tarball="+tarball, "--package-file="+files[i])...)
		_ = os.Remove(tarball)
		if err != nil {
			return nil, err
		}
	}
	return files, nil
}

// Push pushes a package's files to ref (registry/repository:version); the
// files of several platforms become one index.
func (b Builder) Push(files []string, ref string) error {
	return b.run("xpkg", "push", "--package-files="+strings.Join(files, ","), ref)
}

func (b Builder) run(args ...string) error {
	cmd := exec.Command(b.CLI, args...) //nolint:gosec // The pinned crossplane CLI, with arguments this package makes.
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("crossplane %s: %w\n%s", strings.Join(args, " "), err, out.String())
	}
	return nil
}
