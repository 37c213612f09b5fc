package xpkg

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestYAMLStream(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"a-crd.yaml":        "kind: CustomResourceDefinition\n",
		"crossplane.yaml":   "kind: Provider",
		"sub/b.yml":         "kind: Composition\n",
		"empty.yaml":        "\n",
		"notes.md":          "not YAML",
		"sub/hook.sh":       "#!/bin/sh",
		"sub/z-config.yaml": "kind: ClusterProviderConfig\n",
	} {
		f := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(f), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	got, err := yamlStream(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := "---\nkind: Provider\n---\nkind: CustomResourceDefinition\n---\nkind: Composition\n---\nkind: ClusterProviderConfig\n"
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("crossplane.yaml first, then every other non-empty YAML file in path order, each a document: -want, +got:\n%s", diff)
	}
}
