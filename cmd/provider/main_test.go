package main

import (
	"testing"

	"github.com/alecthomas/kong"
)

// TestEveryFlagHasEnv checks that every flag can be set from the
// environment too, as DeploymentRuntimeConfigs often do.
func TestEveryFlagHasEnv(t *testing.T) {
	p, err := kong.New(&cli{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range p.Model.Flags {
		if f.Name != "help" && len(f.Envs) == 0 {
			t.Errorf("flag --%s has no environment variable", f.Name)
		}
	}
}
