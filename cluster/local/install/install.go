// Package install builds provider-mcp's three packages for the local
// plane's platform, pushes them to its registry and installs
// configuration-mcp as a user would; Crossplane resolves the provider and
// function as its dependencies.
package install

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	pkgv1 "github.com/crossplane/crossplane/apis/v2/pkg/v1"
	pkgv1beta1 "github.com/crossplane/crossplane/apis/v2/pkg/v1beta1"

	"github.com/crossmcp/provider-mcp/cluster/local/kclient"
	"github.com/crossmcp/provider-mcp/cluster/local/state"
	"github.com/crossmcp/provider-mcp/cluster/xpkg"
)

// Packages are published as xpkg.crossplane.io/crossmcp/<name>; the local
// plane's ImageConfig rewrites that prefix to its own registry, so package
// references, dependency names and Compositions are the ones users see.
const publicPrefix = "xpkg.crossplane.io/crossmcp/"

var (
	providerPackage      = xpkg.Provider.Name
	functionPackage      = xpkg.Function.Name
	configurationPackage = xpkg.Configuration.Name
)

// An Installer installs our packages on the plane whose files are at Paths
// and whose registry listens on Registry.
type Installer struct {
	Paths    *state.Paths
	Registry string
	// Published is a version pushed to the registry already (make publish
	// REGISTRY=<registry>/crossmcp) to install instead of building one.
	Published string
}

func (i Installer) localPrefix() string { return i.Registry + "/crossmcp/" }

// Install builds the three packages (runtime images from our static
// binaries, no Docker), pushes them to the local registry, and installs
// configuration-mcp as crossplane xpkg install does; Crossplane resolves the
// provider and function as its dependencies. With Published it installs
// what make publish pushed, as a user would.
func (i Installer) Install(ctx context.Context, timeout time.Duration) error {
	p := i.Paths
	kube, err := kclient.New(p.Kubeconfig())
	if err != nil {
		return err
	}
	versions, err := i.versions()
	if err != nil {
		return err
	}
	ic := &pkgv1beta1.ImageConfig{ObjectMeta: metav1.ObjectMeta{Name: "local-registry"}}
	if err := kclient.CreateOrUpdate(ctx, kube, ic, func() {
		ic.Spec = pkgv1beta1.ImageConfigSpec{
			MatchImages:  []pkgv1beta1.ImageMatch{{Type: pkgv1beta1.Prefix, Prefix: publicPrefix}},
			RewriteImage: &pkgv1beta1.ImageRewrite{Prefix: i.localPrefix()},
		}
	}); err != nil {
		return fmt.Errorf("cannot point %s at the local registry: %w", publicPrefix, err)
	}
	// What a user applies with the configuration (README, "On a cluster of
	// your own"), before it, so the provider's first revision already runs
	// as the ServiceAccount provider-mcp.yaml binds.
	for _, f := range []string{"aggregate-to-crossplane.yaml", "provider-mcp.yaml"} {
		if err := kclient.ApplyFile(ctx, kube, filepath.Join("cluster", "rbac", f), ""); err != nil {
			return err
		}
	}
	// What crossplane xpkg install (or update) configuration does: one
	// Configuration naming the package.
	ref := publicPrefix + configurationPackage + ":" + versions[configurationPackage]
	fmt.Printf("Installing configuration %s as %s\n", ref, configurationPackage)
	cfg := &pkgv1.Configuration{ObjectMeta: metav1.ObjectMeta{Name: configurationPackage}}
	if err := kclient.CreateOrUpdate(ctx, kube, cfg, func() { cfg.Spec.Package = ref }); err != nil {
		return fmt.Errorf("cannot install %s: %w", ref, err)
	}
	return waitPackagesHealthy(ctx, kube, timeout)
}

// versions builds and pushes every package, unless they are published
// already, and returns the version of each to install.
func (i Installer) versions() (map[string]string, error) {
	versions := map[string]string{}
	if i.Published != "" {
		for _, pk := range xpkg.All {
			versions[pk.Name] = i.Published
		}
		return versions, nil
	}
	out := filepath.Join(i.Paths.State, "packages")
	if err := os.MkdirAll(out, 0o750); err != nil {
		return nil, err
	}
	for _, pk := range xpkg.All {
		v, err := i.buildAndPush(pk, out)
		if err != nil {
			return nil, fmt.Errorf("package %s: %w", pk.Name, err)
		}
		versions[pk.Name] = v
	}
	return versions, nil
}

// buildAndPush builds a package for this machine's platform, the one the
// plane runs, and pushes it under a version that changes only when its
// content does.
func (i Installer) buildAndPush(pk xpkg.Package, out string) (string, error) {
	p := i.Paths
	digest, err := inputDigest(p, pk)
	if err != nil {
		return "", err
	}
	version, fresh, err := versionFor(p, pk.Name, digest)
	if err != nil {
		return "", err
	}
	// The plane builds from a working tree, maybe with changes: its images'
	// revision is the digest of the package's inputs. Every version is
	// kept: the registry forgets manifests when the plane restarts, and the
	// plane pushes them all again (Restore).
	b := xpkg.Builder{
		Out:      out,
		Version:  version,
		Revision: "inputs-" + digest[:12],
		Binary: func(pk xpkg.Package, _ v1.Platform) string {
			return p.Binary(pk.Binary)
		},
	}
	fmt.Printf("Building %s %s\n", pk.Name, version)
	files, err := b.Build(pk, []v1.Platform{{OS: "linux", Architecture: runtime.GOARCH}})
	if err != nil {
		return "", err
	}
	// The registry lives in the supervisor's memory: push even when the
	// version is known, a restarted plane has forgotten it.
	if err := b.Push(files, i.localPrefix()+pk.Name+":"+version); err != nil {
		return "", err
	}
	if fresh {
		if err := saveVersion(p, pk.Name, digest, version); err != nil {
			return "", err
		}
	}
	return version, nil
}

// inputDigest hashes what goes into a package: its folder and its binary.
func inputDigest(p *state.Paths, pk xpkg.Package) (string, error) {
	h := sha256.New()
	err := filepath.WalkDir(pk.Root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %d\n", path, len(b))
		h.Write(b)
		return nil
	})
	if err != nil {
		return "", err
	}
	if pk.Binary != "" {
		f, err := os.Open(p.Binary(pk.Binary))
		if err != nil {
			return "", fmt.Errorf("%w: run make build first", err)
		}
		defer f.Close()
		if _, err := io.Copy(h, f); err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

type pushed struct {
	Digest  string `json:"digest"`
	Version string `json:"version"`
}

func versionsFile(p *state.Paths) string { return filepath.Join(p.State, "packages", "versions.json") }

// versionFor is v0.1.0 for a package never pushed, the same version for the
// same content, and the next patch version for new content, so Crossplane
// sees an upgrade whenever something changed.
func versionFor(p *state.Paths, pkgName, digest string) (string, bool, error) {
	all := map[string]pushed{}
	if b, err := os.ReadFile(versionsFile(p)); err == nil {
		if err := json.Unmarshal(b, &all); err != nil {
			return "", false, err
		}
	}
	last, ok := all[pkgName]
	if !ok {
		return "v0.1.0", true, nil
	}
	if last.Digest == digest {
		return last.Version, false, nil
	}
	var major, minor, patch int
	if _, err := fmt.Sscanf(last.Version, "v%d.%d.%d", &major, &minor, &patch); err != nil {
		return "", false, fmt.Errorf("cannot read version %q of %s: %w", last.Version, pkgName, err)
	}
	return fmt.Sprintf("v%d.%d.%d", major, minor, patch+1), true, nil
}

func saveVersion(p *state.Paths, pkgName, digest, version string) error {
	all := map[string]pushed{}
	if b, err := os.ReadFile(versionsFile(p)); err == nil {
		_ = json.Unmarshal(b, &all)
	}
	all[pkgName] = pushed{Digest: digest, Version: version}
	b, err := json.MarshalIndent(all, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(versionsFile(p), b, 0o600)
}

// waitPackagesHealthy waits for the configuration and its two dependencies.
func waitPackagesHealthy(ctx context.Context, kube client.Client, timeout time.Duration) error {
	fmt.Println("Waiting for configuration-mcp, crossmcp-provider-mcp and crossmcp-function-mcp-server to be Installed and Healthy")
	var last error
	err := wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		last = healthy(ctx, kube)
		return last == nil, nil
	})
	if err != nil {
		return fmt.Errorf("the packages are not healthy within %s: %w", timeout, last)
	}
	return nil
}

// healthy says why a package is not Installed and Healthy, nil once all are.
func healthy(ctx context.Context, kube client.Client) error {
	for _, o := range []pkgv1.Package{
		&pkgv1.Configuration{ObjectMeta: metav1.ObjectMeta{Name: configurationPackage}},
		&pkgv1.Provider{ObjectMeta: metav1.ObjectMeta{Name: dnsLabel(providerPackage)}},
		&pkgv1.Function{ObjectMeta: metav1.ObjectMeta{Name: dnsLabel(functionPackage)}},
	} {
		if err := kube.Get(ctx, client.ObjectKeyFromObject(o), o); err != nil {
			return err
		}
		for _, t := range []xpv2.ConditionType{pkgv1.TypeInstalled, pkgv1.TypeHealthy} {
			if c := o.GetCondition(t); c.Status != corev1.ConditionTrue {
				return fmt.Errorf("%s is not %s: %s %s%s", o.GetName(), t, c.Reason, c.Message, StateHint(c.Message))
			}
		}
	}
	return nil
}

// StateHint says what to do when Crossplane cannot update a definition in
// place: an XRD's or MRD's names are immutable, so a plane installed before
// they changed must start afresh.
func StateHint(msg string) string {
	if !strings.Contains(msg, "Value is immutable") {
		return ""
	}
	return " (the plane's state predates a change Crossplane cannot make in place: run make stop, delete the plane's state folder, .cache/local for make run, and run again)"
}

// dnsLabel is the object name Crossplane gives a dependency.
func dnsLabel(pkgName string) string { return "crossmcp-" + pkgName }

// Restore pushes every package version Install ever built to the
// registry, which keeps manifests in memory only: installed packages must
// still resolve after the plane restarts.
func (i Installer) Restore() error {
	files, err := filepath.Glob(filepath.Join(i.Paths.State, "packages", "*-v*.xpkg"))
	if err != nil {
		return err
	}
	for _, f := range files {
		pkgName, version, ok := xpkg.ParseFile(f)
		if !ok {
			continue
		}
		if err := (xpkg.Builder{}).Push([]string{f}, i.localPrefix()+pkgName+":"+version); err != nil {
			return fmt.Errorf("cannot push %s: %w", f, err)
		}
	}
	return nil
}
