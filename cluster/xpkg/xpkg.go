// Package xpkg builds and pushes provider-mcp's three Crossplane packages as
// crossplane xpkg build and push do: provider-mcp and function-mcp-server
// with one package file per platform, each embedding that platform's runtime
// image (package runtimeimage), and configuration-mcp. Pushing a package's
// files together makes one multi-platform index. It writes them with
// go-containerregistry: the builder in crossplane-runtime's xpkg would bring
// cosign, sigstore and the clouds' registry credential helpers into the
// plane's build, which make run waits for. Crossplane core, which installs
// them in the e2e and make run, is their judge.
package xpkg

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

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
	files := b.Files(pk, platforms)
	if pk.Binary == "" {
		return files, build(pk, empty.Image, files[0])
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
		if err := build(pk, img, files[i]); err != nil {
			return nil, err
		}
	}
	return files, nil
}

// build writes the package file of pk on base (its runtime image, or an
// empty image). A package file is what crossplane xpkg build writes: an
// image whose layer holds package.yaml (crossplane.yaml and the package's
// other YAML), with its examples in another. A file cannot keep layer
// annotations, so which layer is which is kept as config labels; Push
// makes them the layer annotations Crossplane reads.
func build(pk Package, base v1.Image, file string) error {
	cf, err := base.ConfigFile()
	if err != nil {
		return err
	}
	cfg := cf.Config.DeepCopy()
	if cfg.Labels == nil {
		cfg.Labels = map[string]string{}
	}
	layers := []struct{ dir, file, annotation string }{{pk.Root, packageFile, packageAnnotation}}
	if pk.Examples != "" {
		layers = append(layers, struct{ dir, file, annotation string }{pk.Examples, examplesFile, examplesAnnotation})
	}
	img := base
	for _, l := range layers {
		content, err := yamlStream(l.dir)
		if err != nil {
			return fmt.Errorf("cannot read %s: %w", l.dir, err)
		}
		layer, err := fileLayer(l.file, content)
		if err != nil {
			return err
		}
		d, err := layer.Digest()
		if err != nil {
			return err
		}
		cfg.Labels[annotationKey+":"+d.String()] = l.annotation
		if img, err = mutate.AppendLayers(img, layer); err != nil {
			return err
		}
	}
	if img, err = mutate.Config(img, *cfg); err != nil {
		return err
	}
	return tarball.WriteToFile(file, nil, img)
}

// Crossplane's package format (crossplane-runtime's xpkg).
const (
	annotationKey      = "io.crossplane.xpkg"
	packageAnnotation  = "base"
	examplesAnnotation = "upbound"
	packageFile        = "package.yaml"
	examplesFile       = ".up/examples.yaml"
)

// yamlStream is every YAML file under dir as one stream, crossplane.yaml
// (the package's metadata) first, the others in path order.
func yamlStream(dir string) ([]byte, error) {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if ext := filepath.Ext(path); ext == ".yaml" || ext == ".yml" {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(files, func(i, j int) bool {
		return filepath.Base(files[i]) == "crossplane.yaml" && filepath.Base(files[j]) != "crossplane.yaml"
	})
	var out bytes.Buffer
	for _, f := range files {
		b, err := os.ReadFile(f) //nolint:gosec // the package's own files.
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		out.WriteString("---\n")
		out.Write(b)
		if !bytes.HasSuffix(b, []byte("\n")) {
			out.WriteString("\n")
		}
	}
	return out.Bytes(), nil
}

// fileLayer is a layer holding one file.
func fileLayer(name string, content []byte) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content))}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(content); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil })
}

// annotate turns the labels build wrote into the layer annotations
// Crossplane looks for in a registry.
func annotate(img v1.Image) (v1.Image, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	out := empty.Image
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			return nil, err
		}
		add := mutate.Addendum{Layer: l}
		if a, ok := cf.Config.Labels[annotationKey+":"+d.String()]; ok {
			add.Annotations = map[string]string{annotationKey: a}
		}
		if out, err = mutate.Append(out, add); err != nil {
			return nil, err
		}
	}
	return mutate.ConfigFile(out, cf)
}

// Push pushes a package's files to ref (registry/repository:version), as
// crossplane xpkg push does: one file as an image, several (one per
// platform) as an index of them.
func (b Builder) Push(files []string, ref string, opts ...remote.Option) error {
	if len(opts) == 0 {
		opts = []remote.Option{remote.WithAuthFromKeychain(authn.DefaultKeychain)}
	}
	tag, err := name.NewTag(ref, name.StrictValidation)
	if err != nil {
		return err
	}
	adds := make([]mutate.IndexAddendum, 0, len(files))
	for _, f := range files {
		img, err := tarball.ImageFromPath(f, nil)
		if err != nil {
			return fmt.Errorf("cannot read %s: %w", f, err)
		}
		// Crossplane finds the package's layers by these annotations.
		if img, err = annotate(img); err != nil {
			return fmt.Errorf("cannot annotate %s: %w", f, err)
		}
		if len(files) == 1 {
			return remote.Write(tag, img, opts...)
		}
		d, err := img.Digest()
		if err != nil {
			return err
		}
		if err := remote.Write(tag.Digest(d.String()), img, opts...); err != nil {
			return fmt.Errorf("cannot push %s: %w", f, err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			return err
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{
			Platform: &v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant, OSVersion: cf.OSVersion},
		}})
	}
	return remote.WriteIndex(tag, mutate.AppendManifests(empty.Index, adds...), opts...)
}
