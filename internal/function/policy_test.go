package function

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/utils/ptr"

	platform "github.com/crossmcp/provider-mcp/apis/platform/v1alpha1"
	"github.com/crossmcp/provider-mcp/internal/function/input/v1beta1"
	"github.com/crossmcp/provider-mcp/internal/function/render"
)

// TestCheckPolicy: each case is something a tenant who may create an
// MCPServer, but not read Secrets or run as any ServiceAccount, asks for.
func TestCheckPolicy(t *testing.T) {
	srv := func(mods ...func(*platform.MCPServerSpec)) *render.Server {
		s := &render.Server{Name: "github", Namespace: "team-a", Spec: platform.MCPServerSpec{Image: "ghcr.io/github/github-mcp-server:v0.9.0"}}
		for _, m := range mods {
			m(&s.Spec)
		}
		return s
	}
	strict := &v1beta1.Policy{
		Images:          []string{"ghcr.io/github/*", "ghcr.io/stackloklabs/*/*"},
		ServiceAccounts: []string{"mcp-*"},
		Secrets:         []string{"github-token", "mcp-*"},
		Resources:       &v1beta1.ResourceCeiling{CPU: "1", Memory: "512Mi"},
	}
	cases := map[string]struct {
		reason string
		srv    *render.Server
		policy *v1beta1.Policy
		want   string
	}{
		"DefaultsPlain": {
			reason: "Without a policy, a server that asks for nothing special is fine.",
			srv:    srv(),
		},
		"DefaultsAnyServiceAccountRefused": {
			reason: "Without a policy, an MCPServer cannot run its server as a ServiceAccount of its choosing: it would get that account's rights.",
			srv:    srv(func(s *platform.MCPServerSpec) { s.ServiceAccount = ptr.To("namespace-admin") }),
			want:   `spec.serviceAccount "namespace-admin": the Composition's policy lets no MCPServer choose the ServiceAccount its server runs as (policy.serviceAccounts is empty); remove it, and the server runs as github-sa`,
		},
		"DefaultsSecretRefused": {
			reason: "Without a policy, an MCPServer cannot expose a Secret of the namespace to its server, and so to whoever wrote it.",
			srv: srv(func(s *platform.MCPServerSpec) {
				s.Secrets = []platform.SecretEnv{{Name: "db-root-password", Key: "password"}}
			}),
			want: `spec.secrets[0]: Secret "db-root-password" is not one the Composition's policy lets an MCPServer expose (policy.secrets [])`,
		},
		"AllowedEverything": {
			reason: "What the policy allows is allowed.",
			srv: srv(func(s *platform.MCPServerSpec) {
				s.ServiceAccount = ptr.To("mcp-github")
				s.Secrets = []platform.SecretEnv{{Name: "github-token", Key: "token"}, {Name: "mcp-extra", Key: "k"}}
				s.Resources = &platform.ResourceRequirements{Limits: platform.ResourceList{CPU: "1", Memory: "512Mi"}, Requests: platform.ResourceList{CPU: "100m", Memory: "128Mi"}}
			}),
			policy: strict,
		},
		"ImageNotAllowed": {
			reason: "An image outside the allowed patterns is refused.",
			srv:    srv(func(s *platform.MCPServerSpec) { s.Image = "docker.io/evil/miner:latest" }),
			policy: strict,
			want:   `spec.image "docker.io/evil/miner:latest" matches none of the images the Composition's policy allows (policy.images [ghcr.io/github/* ghcr.io/stackloklabs/*/*])`,
		},
		"ImageGlobStopsAtSlash": {
			reason: "A * does not cross a slash: ghcr.io/github/* is not ghcr.io/github/../other.",
			srv:    srv(func(s *platform.MCPServerSpec) { s.Image = "ghcr.io/github/team/other:v1" }),
			policy: strict,
			want:   `spec.image "ghcr.io/github/team/other:v1" matches none`,
		},
		"ServiceAccountNotAllowed": {
			reason: "A ServiceAccount outside the allowed names is refused.",
			srv:    srv(func(s *platform.MCPServerSpec) { s.ServiceAccount = ptr.To("default") }),
			policy: strict,
			want:   `spec.serviceAccount "default" matches none of the ServiceAccounts the Composition's policy allows (policy.serviceAccounts [mcp-*])`,
		},
		"SecretNotAllowed": {
			reason: "The second Secret is not allowed; the message says which.",
			srv: srv(func(s *platform.MCPServerSpec) {
				s.Secrets = []platform.SecretEnv{{Name: "github-token", Key: "token"}, {Name: "cloud-credentials", Key: "aws"}}
			}),
			policy: strict,
			want:   `spec.secrets[1]: Secret "cloud-credentials" is not one the Composition's policy lets an MCPServer expose (policy.secrets [github-token mcp-*])`,
		},
		"LimitAboveCeiling": {
			reason: "A limit above the ceiling is refused.",
			srv: srv(func(s *platform.MCPServerSpec) {
				s.Resources = &platform.ResourceRequirements{Limits: platform.ResourceList{Memory: "64Gi"}}
			}),
			policy: strict,
			want:   `spec.resources.limits.memory 64Gi is more than the Composition's policy allows (policy.resources.memory 512Mi)`,
		},
		"RequestAboveCeiling": {
			reason: "So is a request.",
			srv: srv(func(s *platform.MCPServerSpec) {
				s.Resources = &platform.ResourceRequirements{Requests: platform.ResourceList{CPU: "1500m"}}
			}),
			policy: strict,
			want:   `spec.resources.requests.cpu 1500m is more than the Composition's policy allows (policy.resources.cpu 1)`,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := checkPolicy(tc.srv, tc.policy)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if tc.want == "" || !strings.HasPrefix(got, tc.want) {
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("%s\ncheckPolicy(...): -want, +got:\n%s", tc.reason, diff)
				}
			}
		})
	}
}
