package xpkg

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Masterminds/semver/v3"
	"sigs.k8s.io/yaml"

	pkgmetav1 "github.com/crossplane/crossplane/apis/v2/pkg/meta/v1"
)

// oldestCrossplane is the oldest Crossplane the packages need: an
// ImageConfig's runtime.configRef (cluster/rbac/provider-mcp.yaml names the
// provider's ServiceAccount through it) came with v2.2.0.
const oldestCrossplane = ">=v2.2.0"

// TestMetadata checks each package's crossplane.yaml carries what Crossplane
// users and registries read: maintainer, an https source, license,
// description and readme, the Crossplane version it needs, and
// dependencies in the apiVersion/kind form with bounded version ranges.
func TestMetadata(t *testing.T) {
	for _, pk := range All {
		t.Run(pk.Name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("..", "..", pk.Root, "crossplane.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			var m struct {
				Metadata struct {
					Name        string            `json:"name"`
					Annotations map[string]string `json:"annotations"`
				} `json:"metadata"`
				Spec struct {
					Crossplane *pkgmetav1.CrossplaneConstraints `json:"crossplane"`
					DependsOn  []pkgmetav1.Dependency           `json:"dependsOn"`
				} `json:"spec"`
			}
			if err := yaml.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			if m.Metadata.Name != pk.Name {
				t.Errorf("name %q, want %q", m.Metadata.Name, pk.Name)
			}
			a := m.Metadata.Annotations
			for _, k := range []string{"maintainer", "source", "license", "description", "readme"} {
				if strings.TrimSpace(a["meta.crossplane.io/"+k]) == "" {
					t.Errorf("annotation meta.crossplane.io/%s is missing", k)
				}
			}
			if s := a["meta.crossplane.io/source"]; !strings.HasPrefix(s, "https://") {
				t.Errorf("source %q is not an https URL", s)
			}
			if l := a["meta.crossplane.io/license"]; l != "Apache-2.0" {
				t.Errorf("license %q, want Apache-2.0 (LICENSE)", l)
			}
			if c := m.Spec.Crossplane; c == nil || c.Version != oldestCrossplane {
				t.Errorf("spec.crossplane = %+v, want version %q", c, oldestCrossplane)
			}
			for _, d := range m.Spec.DependsOn {
				if d.APIVersion == nil || d.Kind == nil || d.Package == nil {
					t.Errorf("dependency %+v: want apiVersion, kind and package", d)
					continue
				}
				c, err := semver.NewConstraint(d.Version)
				if err != nil {
					t.Errorf("dependency %s: version %q: %v", *d.Package, d.Version, err)
					continue
				}
				// make publish's version on an untagged commit must match.
				if c.Check(semver.MustParse("v1.0.0")) || !c.Check(semver.MustParse("v0.1.0")) || !c.Check(semver.MustParse("v0.1.0-dev.g5ca3f57ab12c")) {
					t.Errorf("dependency %s: version %q must take v0.1.0 and its prereleases and be bounded below v1.0.0", *d.Package, d.Version)
				}
			}
			if pk == Configuration && len(m.Spec.DependsOn) != 2 {
				t.Errorf("configuration-mcp depends on %d packages, want provider-mcp and function-mcp-server", len(m.Spec.DependsOn))
			}
		})
	}
}
