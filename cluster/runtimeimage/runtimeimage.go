// Package runtimeimage builds the runtime images of provider-mcp and
// function-mcp-server without Docker: a static binary, the public CA roots a
// pod needs to reach an authorization server on a public CA, and a non-root
// user. One image per platform; package xpkg embeds each in a package file
// and pushes them as an index.
package runtimeimage

import (
	"archive/tar"
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/crypto/x509roots/fallback/bundle"
)

// Where the image keeps what it carries. Go's crypto/x509 reads the roots
// from RootsPath on Linux; NonRoot is distroless's "nonroot" user.
const (
	RootsPath = "/etc/ssl/certs/ca-certificates.crt"
	NonRoot   = "65532"
)

// Source is where the images' code lives.
const Source = "https://github.com/crossmcp/provider-mcp"

// Platforms are the platforms the packages are published for.
var Platforms = []v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64"}}

// OCI annotation keys, used as image labels.
const (
	LabelSource   = "org.opencontainers.image.source"
	LabelVersion  = "org.opencontainers.image.version"
	LabelRevision = "org.opencontainers.image.revision"
	LabelLicenses = "org.opencontainers.image.licenses"
	LabelTitle    = "org.opencontainers.image.title"
)

// Options describe one runtime image.
type Options struct {
	// Binary is the path of the static binary for Platform.
	Binary   string
	Platform v1.Platform
	// Entrypoint is where the binary lives in the image, e.g. /provider.
	Entrypoint string
	// Title, Source, Version and Revision become OCI labels.
	Title, Source, Version, Revision string
}

// Build returns the runtime image described by o. Its layers are the same
// for the same inputs: timestamps are fixed, so a rebuild pushes nothing new.
func Build(o Options) (v1.Image, error) {
	bin, err := os.ReadFile(o.Binary)
	if err != nil {
		return nil, err
	}
	roots, err := Roots()
	if err != nil {
		return nil, err
	}
	base, err := layer(
		file{path: "etc/passwd", mode: 0o644, data: []byte("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")},
		file{path: "etc/group", mode: 0o644, data: []byte("root:x:0:\nnonroot:x:65532:\n")},
		file{path: strings.TrimPrefix(RootsPath, "/"), mode: 0o644, data: roots},
	)
	if err != nil {
		return nil, err
	}
	app, err := layer(file{path: strings.TrimPrefix(o.Entrypoint, "/"), mode: 0o755, data: bin})
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(empty.Image, base, app)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = o.Platform.OS, o.Platform.Architecture, o.Platform.Variant
	cf.Config.Entrypoint = []string{o.Entrypoint}
	cf.Config.User = NonRoot + ":" + NonRoot
	cf.Config.Labels = map[string]string{
		LabelSource:   o.Source,
		LabelVersion:  o.Version,
		LabelRevision: o.Revision,
		LabelLicenses: "Apache-2.0",
		LabelTitle:    o.Title,
	}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return nil, err
	}
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	return mutate.ConfigMediaType(img, types.OCIConfigJSON), nil
}

// Roots returns the NSS trust store's roots as PEM, as Debian's
// ca-certificates (and so distroless images) carry them: a PEM file cannot
// hold NSS's distrust-after dates, so a root with one is trusted without it,
// as there.
func Roots() ([]byte, error) {
	var b bytes.Buffer
	n := 0
	for r := range bundle.Roots() {
		c, err := x509.ParseCertificate(r.Certificate)
		if err != nil {
			return nil, fmt.Errorf("cannot parse a root of the NSS bundle: %w", err)
		}
		fmt.Fprintf(&b, "# %s\n", c.Subject.String())
		if err := pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: r.Certificate}); err != nil {
			return nil, err
		}
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("the NSS bundle has no roots")
	}
	return b.Bytes(), nil
}

type file struct {
	path string
	mode int64
	data []byte
}

func layer(files ...file) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	for _, f := range files {
		// Parent directories first, as image extractors expect.
		parts := strings.Split(f.path, "/")
		for i := 1; i < len(parts); i++ {
			d := strings.Join(parts[:i], "/") + "/"
			if dirs[d] {
				continue
			}
			dirs[d] = true
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: 0o755, ModTime: time.Unix(0, 0)}); err != nil {
				return nil, err
			}
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.path, Mode: f.mode, Size: int64(len(f.data)), ModTime: time.Unix(0, 0)}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
}
