package toolhive

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// names are what kubectl resolves a resource by: plural, singular and short
// names.
type names struct {
	Plural     string   `json:"plural"`
	Singular   string   `json:"singular"`
	ShortNames []string `json:"shortNames"`
}

// TestShortNamesOwn checks that our kinds have short names of their own,
// none of which ToolHive's operator CRDs (at the pinned version) use as a
// plural, singular or short name: with both installed, kubectl get <short
// name> must mean ours.
func TestShortNamesOwn(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/stacklok/toolhive").Output()
	if err != nil {
		t.Fatalf("cannot find the ToolHive module: %v", err)
	}
	theirs := map[string]string{}
	for _, f := range glob(t, filepath.Join(strings.TrimSpace(string(out)), "deploy", "charts", "operator-crds", "files", "crds", "*.yaml")) {
		var crd struct {
			Spec struct {
				Names names `json:"names"`
			} `json:"spec"`
		}
		read(t, f, &crd)
		n := crd.Spec.Names
		for _, s := range append([]string{n.Plural, n.Singular}, n.ShortNames...) {
			theirs[s] = filepath.Base(f)
		}
	}
	if len(theirs) < 20 {
		t.Fatalf("read %d names of ToolHive's CRDs, want its operator's whole set", len(theirs))
	}

	ours := map[string]names{}
	for _, f := range glob(t, filepath.Join("..", "..", "package", "provider", "crds", "*.yaml")) {
		var crd struct {
			Spec struct {
				Names names `json:"names"`
			} `json:"spec"`
		}
		read(t, f, &crd)
		ours[crd.Spec.Names.Plural] = crd.Spec.Names
	}
	for _, f := range glob(t, filepath.Join("..", "..", "package", "configuration", "xrd-*.yaml")) {
		var xrd struct {
			Spec struct {
				Names      names  `json:"names"`
				ClaimNames *names `json:"claimNames"`
			} `json:"spec"`
		}
		read(t, f, &xrd)
		ours[xrd.Spec.Names.Plural] = xrd.Spec.Names
		if c := xrd.Spec.ClaimNames; c != nil {
			ours[c.Plural] = *c
		}
	}
	for _, want := range []string{"externalauthconfigs", "mcpservers", "xmcpservers", "mcpserverclaims"} {
		if len(ours[want].ShortNames) == 0 {
			t.Errorf("%s has no short name", want)
		}
	}
	for plural, n := range ours {
		for _, s := range n.ShortNames {
			if f, ok := theirs[s]; ok {
				t.Errorf("%s's short name %q is also a name of ToolHive's %s", plural, s, f)
			}
		}
	}
}

func glob(t *testing.T, pattern string) []string {
	t.Helper()
	m, err := filepath.Glob(pattern)
	if err != nil || len(m) == 0 {
		t.Fatalf("no files match %s: %v", pattern, err)
	}
	return m
}

func read(t *testing.T, file string, into any) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, into); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}
