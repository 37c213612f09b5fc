//go:build integration

package integration

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crossmcp/provider-mcp/test/wait"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite the render stories' rendered.yaml goldens")

// examplesDir holds the manifests users apply; renderDir the stories
// `crossplane render` runs on, each with its golden.
const (
	examplesDir = "../../examples"
	renderDir   = "../../render"
)

// renderExamples are the story folders `crossplane render` runs on.
func renderExamples(t *testing.T) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(renderDir, "*", "xr.yaml"))
	if err != nil || len(m) < 4 {
		t.Fatalf("want at least four render stories with an xr.yaml, found %v (%v)", m, err)
	}
	dirs := make([]string, 0, len(m))
	for _, f := range m {
		dirs = append(dirs, filepath.Dir(f))
	}
	return dirs
}

// crossplaneCLI is the pinned Crossplane CLI that `make test` builds.
func crossplaneCLI(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "crossplane")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("the Crossplane CLI is missing (%v): run make test, which builds it", err)
	}
	return bin
}

// startFunction builds cmd/function and serves it without TLS on a free
// loopback port, as `crossplane render` expects a Development runtime.
func startFunction(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "function")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/function").CombinedOutput(); err != nil {
		t.Fatalf("cannot build the function: %v\n%s", err, out)
	}
	addr := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--insecure", "--address", addr)
	logs := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("function logs:\n%s", logs)
		}
	})
	wait.For(t, 30*time.Second, "function listening", func() string {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return err.Error()
		}
		_ = c.Close()
		return ""
	})
	return addr
}

// renderArgs are the arguments of `crossplane render` for an example.
func renderArgs(dir, addr string, extra ...string) []string {
	args := []string{"render", "xr.yaml", "composition.yaml", "functions.yaml",
		"-a", "render.crossplane.io/runtime-development-target=" + addr}
	for flag, file := range map[string]string{"--required-resources": "required-resources.yaml", "--observed-resources": "observed-resources.yaml"} {
		if _, err := os.Stat(filepath.Join(dir, file)); err == nil {
			args = append(args, flag+"="+file)
		}
	}
	return append(args, extra...)
}

func runCLI(t *testing.T, dir, bin string, stdin io.Reader, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s in %s: %v\n%s%s", filepath.Base(bin), strings.Join(args, " "), dir, err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// TestRenderGoldens runs the real Crossplane CLI over every example against
// the real function, compares the output with the checked-in rendered.yaml,
// and has the real kube-apiserver accept every rendered object (server-side
// dry run), so a golden can only hold objects a cluster would take.
func TestRenderGoldens(t *testing.T) {
	cli, addr := crossplaneCLI(t), startFunction(t)
	for _, dir := range renderExamples(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			got := runCLI(t, dir, cli, nil, renderArgs(dir, addr, "--include-function-results")...)
			golden := filepath.Join(dir, "rendered.yaml")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("cannot read the golden (make goldens writes it): %v", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Fatalf("crossplane render differs from %s (make goldens updates it): -want, +got:\n%s", golden, diff)
			}
			if strings.Contains(got, "client_secret\":") {
				t.Error("a rendered object carries a client_secret setting")
			}
			dryRunApply(t, got)
		})
	}
}

// dryRunApply has the apiserver validate every rendered composed object.
func dryRunApply(t *testing.T, manifests string) {
	t.Helper()
	ctx := context.Background()
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(manifests), 4096)
	applied := 0
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatal(err)
		}
		if len(u.Object) == 0 || u.GetAPIVersion() == "platform.crossmcp.io/v1alpha1" || u.GetKind() == "Result" {
			continue // The XR has no CRD here; results are not objects.
		}
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: u.GetNamespace()}}
		if err := kube.Create(ctx, ns); err != nil && !kerrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
		// Crossplane fills in the owner's UID; the dry run needs one.
		refs := u.GetOwnerReferences()
		for i := range refs {
			refs[i].UID = "00000000-0000-0000-0000-000000000000"
		}
		u.SetOwnerReferences(refs)
		if err := kube.Create(ctx, u, client.DryRunAll); err != nil {
			t.Errorf("the apiserver refuses rendered %s %s/%s: %v", u.GetKind(), u.GetNamespace(), u.GetName(), err)
		}
		applied++
	}
	if applied < 6 {
		t.Errorf("only %d composed objects were rendered", applied)
	}
}

var validateSummary = regexp.MustCompile(`Total (\d+) resources: (\d+) missing schemas, (\d+) success cases, (\d+) failure cases`)

// TestValidateExamples checks every example manifest, and each render with
// the full XR, against the XRDs, CRDs, input CRD and Crossplane core's CRDs
// with `crossplane beta validate`, offline.
func TestValidateExamples(t *testing.T) {
	cli, addr := crossplaneCLI(t), startFunction(t)
	cache := coreSchemaCache(t)
	pkg, _ := filepath.Abs("../../package")
	extensions := strings.Join([]string{
		filepath.Join(pkg, "configuration", "xrd-mcpserver.yaml"),
		filepath.Join(pkg, "configuration", "xrd-xmcpserver.yaml"),
		filepath.Join(pkg, "provider", "crds"),
		filepath.Join(pkg, "function", "input"),
	}, ",")
	validate := func(t *testing.T, dir string, stdin io.Reader, resources string, wantMin int) {
		t.Helper()
		out := runCLI(t, dir, cli, stdin, "beta", "validate", "--cache-dir", cache, "--crossplane-image", "local/crossplane:v2.4.0", extensions, resources)
		m := validateSummary.FindStringSubmatch(out)
		if m == nil || m[4] != "0" {
			t.Fatalf("crossplane beta validate found failures:\n%s", out)
		}
		success, _ := strconv.Atoi(m[3]) // The pattern matched digits.
		if success < wantMin {
			t.Errorf("only %d resources validated against a schema, want at least %d:\n%s", success, wantMin, out)
		}
	}
	for _, dir := range renderExamples(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
			var names []string
			for _, f := range files {
				if filepath.Base(f) != "rendered.yaml" {
					names = append(names, filepath.Base(f))
				}
			}
			// xr, composition (with its Workload input) and functions at least.
			validate(t, dir, nil, strings.Join(names, ","), 4)
			out := runCLI(t, dir, cli, nil, renderArgs(dir, addr, "--include-full-xr")...)
			// The XR and, with external auth, the Usage.
			validate(t, dir, strings.NewReader(out), "-", 2)
		})
	}
	for _, dir := range exampleDirs(t) {
		t.Run("examples/"+filepath.Base(dir), func(t *testing.T) {
			files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
			names := make([]string, 0, len(files))
			for _, f := range files {
				names = append(names, filepath.Base(f))
			}
			// Every file but the Secret has a schema.
			validate(t, dir, nil, strings.Join(names, ","), len(files)-1)
		})
	}
}

// exampleDirs are the folders of examples users apply.
func exampleDirs(t *testing.T) []string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(examplesDir, "*"))
	if err != nil || len(dirs) < 4 {
		t.Fatalf("want at least four example folders, found %v (%v)", dirs, err)
	}
	return dirs
}

// appliable are the kinds an example folder may hold: kubectl apply -f on
// one must not apply a Function, a Composition (it would replace the
// package's), an XR Crossplane makes from a claim, or a render fixture.
var appliable = map[string]bool{
	"Secret": true, "ClusterProviderConfig": true, "ProviderConfig": true,
	"ExternalAuthConfig": true, "MCPServer": true, "MCPServerClaim": true,
}

// uptestKinds are the kinds uptest checks for Ready, which need its
// annotations.
var uptestKinds = map[string]bool{"ExternalAuthConfig": true, "MCPServer": true, "MCPServerClaim": true}

// TestExamplesAppliable reads every manifest under examples/: only kinds a
// user applies, and what uptest needs on each it would test.
func TestExamplesAppliable(t *testing.T) {
	for _, dir := range exampleDirs(t) {
		files, _ := filepath.Glob(filepath.Join(dir, "*"))
		for _, f := range files {
			if strings.HasSuffix(f, ".sh") {
				continue // uptest hooks; kubectl apply -f skips them.
			}
			if !strings.HasSuffix(f, ".yaml") {
				t.Errorf("%s: an example folder holds manifests (.yaml) and uptest hooks (.sh) only", f)
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			u := &unstructured.Unstructured{}
			if err := yaml.Unmarshal(b, &u.Object); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if !appliable[u.GetKind()] {
				t.Errorf("%s: a %s is not for users to apply: move it to render/", f, u.GetKind())
			}
			a := u.GetAnnotations()
			if uptestKinds[u.GetKind()] && (a["meta.upbound.io/example-id"] == "" || a["uptest.upbound.io/timeout"] == "") {
				t.Errorf("%s: a %s needs uptest's meta.upbound.io/example-id and uptest.upbound.io/timeout annotations", f, u.GetKind())
			}
		}
	}
}

// coreSchemaCache lays Crossplane core's CRDs where `beta validate` looks for
// the core image's schemas, so it never reaches for a registry.
func coreSchemaCache(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	crds, err := coreCRDs()
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(crds, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no core CRDs in %s", crds)
	}
	var all bytes.Buffer
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all.WriteString("---\n")
		all.Write(b)
	}
	if err := os.MkdirAll(filepath.Join(dir, "local", "crossplane@v2.4.0"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "local", "crossplane@v2.4.0", "package.yaml"), all.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// coreCRDs is the cluster/crds folder of the pinned Crossplane core module.
func coreCRDs() (string, error) {
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/crossplane/crossplane/v2")
	cmd.Dir = "../../cluster/tools/plane"
	cmd.Env = append(os.Environ(), "GOWORK=off") // outside go.work
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("cannot find the Crossplane core module: %w", err)
	}
	return filepath.Join(strings.TrimSpace(string(out)), "cluster", "crds"), nil
}
