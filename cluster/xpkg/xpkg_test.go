//go:build integration

package xpkg

import (
	"archive/tar"
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/crossmcp/provider-mcp/cluster/runtimeimage"
)

// TestBuildAndPush takes the path a release takes: one package file per
// platform, pushed together to a registry. The
// pushed index must hold an image per platform, each running as non-root
// with its labels and the public roots, and a Go binary run from the host's
// image's extracted file system, as in a pod, must find those roots as its
// system roots.
func TestBuildAndPush(t *testing.T) {
	dir := t.TempDir()
	b := Builder{
		Out:      dir,
		Version:  "v1.2.3",
		Revision: "0123abc",
		Binary: func(_ Package, p v1.Platform) string {
			bin := filepath.Join(dir, p.Architecture, "rootcount")
			build := exec.Command("go", "build", "-trimpath", "-o", bin, "./testdata/rootcount")
			build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+p.OS, "GOARCH="+p.Architecture)
			if out, err := build.CombinedOutput(); err != nil {
				t.Fatalf("go build: %v\n%s", err, out)
			}
			return bin
		},
	}
	pk := Package{Name: Provider.Name, Root: filepath.Join("..", "..", Provider.Root), Binary: "rootcount", Examples: filepath.Join("..", "..", Provider.Examples)}
	files, err := b.Build(pk, runtimeimage.Platforms)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "provider-mcp-v1.2.3-linux-amd64.xpkg"), filepath.Join(dir, "provider-mcp-v1.2.3-linux-arm64.xpkg")}
	if diff := cmp.Diff(want, files); diff != "" {
		t.Errorf("files: -want, +got:\n%s", diff)
	}

	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	ref := strings.TrimPrefix(srv.URL, "http://") + "/crossmcp/provider-mcp:v1.2.3"
	if err := b.Push(files, ref); err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(r)
	if err != nil {
		t.Fatalf("the pushed package is no index: %v", err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var platforms []string
	for _, d := range m.Manifests {
		if d.Platform == nil {
			t.Fatalf("manifest %s has no platform", d.Digest)
		}
		platforms = append(platforms, d.Platform.String())
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		checkImage(t, img, *d.Platform, filepath.Join(dir, "rootfs-"+d.Platform.Architecture))
	}
	if diff := cmp.Diff([]string{"linux/amd64", "linux/arm64"}, platforms); diff != "" {
		t.Errorf("platforms: -want, +got:\n%s", diff)
	}
}

func checkImage(t *testing.T, img v1.Image, p v1.Platform, root string) {
	t.Helper()
	// Crossplane core reads the layers annotated base (package.yaml, with
	// crossplane.yaml first) and upbound (the examples).
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	annotated := map[string]string{}
	for _, l := range m.Layers {
		if a := l.Annotations[annotationKey]; a != "" {
			layer, err := img.LayerByDigest(l.Digest)
			if err != nil {
				t.Fatal(err)
			}
			annotated[a] = firstFile(t, layer)
		}
	}
	if diff := cmp.Diff(map[string]string{"base": "package.yaml: ---\napiVersion: meta.pkg.crossplane.io/v1", "upbound": ".up/examples.yaml: ---"}, annotated); diff != "" {
		t.Errorf("%s: annotated layers (file: start): -want, +got:\n%s", p, diff)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Config.User != "65532:65532" {
		t.Errorf("%s: user %q, want 65532:65532", p, cf.Config.User)
	}
	labels := map[string]string{}
	for _, k := range []string{runtimeimage.LabelSource, runtimeimage.LabelVersion, runtimeimage.LabelRevision} {
		labels[k] = cf.Config.Labels[k]
	}
	wantLabels := map[string]string{runtimeimage.LabelSource: runtimeimage.Source, runtimeimage.LabelVersion: "v1.2.3", runtimeimage.LabelRevision: "0123abc"}
	if diff := cmp.Diff(wantLabels, labels); diff != "" {
		t.Errorf("%s: labels: -want, +got:\n%s", p, diff)
	}
	if err := untar(mutate.Extract(img), root); err != nil {
		t.Fatal(err)
	}
	roots, err := os.ReadFile(filepath.Join(root, runtimeimage.RootsPath))
	if err != nil {
		t.Fatalf("%s: no roots: %v", p, err)
	}
	if _, err := os.Stat(filepath.Join(root, "package.yaml")); err != nil {
		t.Errorf("%s: the package's own layer is missing: %v", p, err)
	}
	// The examples layer: what the provider's examples folder holds.
	if ex, err := os.ReadFile(filepath.Join(root, ".up", "examples.yaml")); err != nil || !strings.Contains(string(ex), "kind: ExternalAuthConfig") || !strings.Contains(string(ex), "kind: ClusterProviderConfig") {
		t.Errorf("%s: the package does not carry its examples (%v):\n%s", p, err, ex)
	}
	if p.Architecture != runtime.GOARCH {
		return
	}
	// As in a pod: the image's file system is all the program sees.
	out, err := exec.Command("unshare", "--user", "--map-root-user", "--root="+root, "/rootcount").CombinedOutput()
	if err != nil {
		t.Fatalf("cannot run the entrypoint in the image's file system (needs user namespaces): %v\n%s", err, out)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("rootcount printed %q", out)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(roots)
	//nolint:staticcheck // A pool made here: Subjects counts it.
	if want := len(pool.Subjects()); n != want || n < 100 {
		t.Errorf("a Go binary in the %s image finds %d system roots, want the %d of %s", p, n, want, runtimeimage.RootsPath)
	}
}

// untar writes the directories and regular files of a tar stream into dir.
func untar(rc io.ReadCloser, dir string) error {
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		rel, err := filepath.Localize(strings.TrimSuffix(h.Name, "/"))
		if err != nil {
			return err
		}
		path := filepath.Join(dir, rel)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(path, 0o750); err != nil {
				return err
			}
		case tar.TypeReg:
			var buf bytes.Buffer
			if _, err := io.Copy(&buf, tr); err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
				return err
			}
			if err := os.WriteFile(path, buf.Bytes(), os.FileMode(h.Mode).Perm()); err != nil {
				return err
			}
		default:
			return fmt.Errorf("unexpected %q in the image: type %c", h.Name, h.Typeflag)
		}
	}
}

// firstFile is the name and first line (two for YAML) of a layer's one file.
func firstFile(t *testing.T, l v1.Layer) string {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	h, err := tr.Next()
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(tr)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitN(string(b), "\n", 3)
	if h.Name == packageFile {
		return h.Name + ": " + lines[0] + "\n" + lines[1]
	}
	return h.Name + ": " + lines[0]
}
