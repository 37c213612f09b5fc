package runtimeimage

import (
	"archive/tar"
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// TestBuild builds an image for every platform and checks what a pod gets:
// platform, non-root user, entrypoint, labels, and the public roots. The
// xpkg package's integration test runs a Go binary from such an image.
func TestBuild(t *testing.T) {
	dir := t.TempDir()
	roots, err := Roots()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range Platforms {
		t.Run(p.Architecture, func(t *testing.T) {
			bin := filepath.Join(dir, p.Architecture+"-rootcount")
			if err := os.WriteFile(bin, []byte("a static binary for "+p.String()), 0o600); err != nil {
				t.Fatal(err)
			}
			img, err := Build(Options{Binary: bin, Platform: p, Entrypoint: "/rootcount", Title: "rootcount", Source: "https://example.org/src", Version: "v1.2.3", Revision: "abc123"})
			if err != nil {
				t.Fatal(err)
			}
			cf, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			want := v1.Config{
				Entrypoint: []string{"/rootcount"},
				User:       "65532:65532",
				Labels: map[string]string{
					LabelSource: "https://example.org/src", LabelVersion: "v1.2.3", LabelRevision: "abc123",
					LabelLicenses: "Apache-2.0", LabelTitle: "rootcount",
				},
			}
			if diff := cmp.Diff(want, cf.Config); diff != "" {
				t.Errorf("config: -want, +got:\n%s", diff)
			}
			if got := (v1.Platform{OS: cf.OS, Architecture: cf.Architecture}); got.String() != p.String() {
				t.Errorf("platform = %s, want %s", got, p)
			}

			files := contents(t, img)
			if !bytes.Equal(files[strings.TrimPrefix(RootsPath, "/")].data, roots) {
				t.Errorf("the image's %s differs from Roots()", RootsPath)
			}
			if e := files["rootcount"]; e.mode != 0o755 || len(e.data) == 0 {
				t.Errorf("entrypoint: mode %o, %d bytes; want an executable file", e.mode, len(e.data))
			}
			if !strings.Contains(string(files["etc/passwd"].data), "nonroot:x:65532:65532") {
				t.Errorf("/etc/passwd has no nonroot user: %q", files["etc/passwd"].data)
			}
		})
	}
}

// TestRoots checks the bundle holds the public roots the identity providers
// the docs cover chain to.
func TestRoots(t *testing.T) {
	roots, err := Roots()
	if err != nil {
		t.Fatal(err)
	}
	subjects := map[string]bool{}
	for rest := roots; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		subjects[c.Subject.CommonName] = true
	}
	if len(subjects) < 100 {
		t.Errorf("%d roots, want the NSS store's more than 100", len(subjects))
	}
	// Let's Encrypt (many Keycloaks), DigiCert (Okta, Microsoft Entra ID),
	// Microsoft's own.
	for _, cn := range []string{"ISRG Root X1", "DigiCert Global Root G2", "Microsoft RSA Root Certificate Authority 2017"} {
		if !subjects[cn] {
			t.Errorf("the roots lack %q", cn)
		}
	}
}

type entry struct {
	mode int64
	data []byte
}

// contents reads the image's flattened file system.
func contents(t *testing.T, img v1.Image) map[string]entry {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	out := map[string]entry{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out[h.Name] = entry{mode: h.Mode, data: b}
	}
}
