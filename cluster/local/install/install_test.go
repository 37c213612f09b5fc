package install

import (
	"strings"
	"testing"
)

func TestStateHint(t *testing.T) {
	immutable := `cannot establish control of object: CompositeResourceDefinition.apiextensions.crossplane.io "xmcpservers.platform.crossmcp.io" is invalid: [spec.names: Invalid value: Value is immutable]`
	if h := StateHint(immutable); !strings.Contains(h, "delete the plane's state folder") {
		t.Errorf("StateHint(immutable names) = %q, want the way out", h)
	}
	if h := StateHint("package revision is not healthy yet"); h != "" {
		t.Errorf("StateHint(other) = %q, want none", h)
	}
}
