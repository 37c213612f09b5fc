package render

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	protectionv1beta1 "github.com/crossplane/crossplane/apis/v2/protection/v1beta1"

	authv1alpha1 "github.com/crossmcp/provider-mcp/apis/auth/v1alpha1"
	platform "github.com/crossmcp/provider-mcp/apis/platform/v1alpha1"
	"github.com/crossmcp/provider-mcp/internal/function/input/v1beta1"
	"github.com/crossmcp/provider-mcp/internal/oauth"
)

const secretValue = "s3cr3t-never-rendered"

func server(fns ...func(*Server)) *Server {
	s := &Server{Name: "github", Namespace: "team-a", Spec: platform.MCPServerSpec{
		Image:        "ghcr.io/github/github-mcp-server:v1",
		Args:         []string{"stdio"},
		Env:          []platform.EnvVar{{Name: "LOG_LEVEL", Value: "debug"}},
		Secrets:      []platform.SecretEnv{{Name: "gh", Key: "token", TargetEnvName: "GITHUB_TOKEN"}},
		OIDC:         &platform.OIDCConfig{Issuer: "https://idp.example.com", Audience: "mcp", JWKSURL: "https://idp.example.com/jwks"},
		ExternalAuth: &platform.ExternalAuth{ConfigRef: &platform.ConfigRef{Name: "backend-api"}},
	}}
	Defaults(&s.Spec)
	for _, f := range fns {
		f(s)
	}
	return s
}

func auth(fns ...func(*platform.ExternalAuthStatus)) *platform.ExternalAuthStatus {
	a, err := Auth(config())
	if err != nil {
		panic(err)
	}
	for _, f := range fns {
		f(a)
	}
	return a
}

func input(mode v1beta1.ConfigMode) *v1beta1.Workload {
	in := &v1beta1.Workload{ConfigMode: mode}
	in.Default()
	return in
}

func byName(objs []Object) map[string]any {
	m := make(map[string]any, len(objs))
	for _, o := range objs {
		m[o.Name] = o.Object
	}
	return m
}

func names(objs []Object) []string {
	n := make([]string, 0, len(objs))
	for _, o := range objs {
		n = append(n, o.Name)
	}
	slices.Sort(n)
	return n
}

func TestWorkloadObjects(t *testing.T) {
	cases := map[string]struct {
		reason string
		srv    *Server
		auth   *platform.ExternalAuthStatus
		mode   v1beta1.ConfigMode
		want   []string
	}{
		"ConfigMapMode": {
			reason: "A server with external auth gets RBAC, its service account, the RunConfig, the Deployment, the Service and a Usage.",
			srv:    server(), auth: auth(), mode: v1beta1.ConfigModeConfigMap,
			want: []string{NameDeployment, NameUsage, NameServerServiceAccount, NameProxyRunnerRoleBinding, NameProxyRunnerServiceAccount, NameRunConfig, NameService},
		},
		"OwnServiceAccountNoAuth": {
			reason: "A named service account is not created, and without external auth there is no Usage.",
			srv: server(func(s *Server) {
				s.Spec.ServiceAccount = ptr.To("existing")
				s.Spec.ExternalAuth = nil
			}),
			mode: v1beta1.ConfigModeConfigMap,
			want: []string{NameDeployment, NameProxyRunnerRoleBinding, NameProxyRunnerServiceAccount, NameRunConfig, NameService},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if diff := cmp.Diff(want, names(Workload(tc.srv, tc.auth, input(tc.mode)))); diff != "" {
				t.Errorf("%s\nWorkload(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestRunConfig(t *testing.T) {
	objs := byName(Workload(server(), auth(), input(v1beta1.ConfigModeConfigMap)))
	cm := objs[NameRunConfig].(*corev1.ConfigMap)
	got := &RunConfig{}
	if err := json.Unmarshal([]byte(cm.Data[RunConfigKey]), got); err != nil {
		t.Fatal(err)
	}
	profile := &PermissionProfile{Name: "network"}
	profile.Network.Outbound.InsecureAllowAll = true
	want := &RunConfig{
		SchemaVersion: "v0.1.0", Name: "github", Image: "ghcr.io/github/github-mcp-server:v1", CmdArgs: []string{"stdio"},
		ContainerName: "github", BaseName: "github",
		Transport: "stdio", Host: "0.0.0.0", Port: 8080, TargetPort: 8080, ProxyMode: "streamable-http",
		PermissionProfile: profile,
		EnvVars:           map[string]string{"LOG_LEVEL": "debug", "MCP_TRANSPORT": "stdio"},
		ContainerLabels: map[string]string{
			"toolhive": "true", "toolhive-name": "github", "toolhive-basename": "github", "toolhive-transport": "stdio", "toolhive-port": "8080",
		},
		OIDCConfig: &OIDCConfig{Issuer: "https://idp.example.com", Audience: "mcp", JWKSURL: "https://idp.example.com/jwks"},
		TokenExchangeConfig: &TokenExchangeConfig{
			TokenURL: "https://auth.example.com/oauth2/token", ClientID: "mcp-proxy", Audience: "backend-api",
			Scopes: []string{"backend:read"}, SubjectTokenType: oauth.TokenTypeIDToken, HeaderStrategy: "replace",
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("runconfig.json: -want, +got:\n%s", diff)
	}
	raw := map[string]any{}
	_ = json.Unmarshal([]byte(cm.Data[RunConfigKey]), &raw)
	te := raw["token_exchange_config"].(map[string]any)
	if _, ok := te["client_secret"]; ok {
		t.Error("runconfig.json has a client_secret key: the secret must travel only as an environment variable")
	}
	if _, ok := raw["middleware_configs"]; ok {
		t.Error("runconfig.json has middleware_configs: the runner must build its chain (auth before tokenexchange) itself")
	}
	oidc := raw["oidc_config"].(map[string]any)
	if _, ok := oidc["Issuer"]; !ok {
		t.Errorf("oidc_config keys must be the runner's Go field names, got %v", oidc)
	}
	if cm.Annotations[AnnotationContentChecksum] != checksum(cm.Data) {
		t.Error("ConfigMap content checksum annotation does not match its data")
	}
}

func TestCustomHeader(t *testing.T) {
	a := auth(func(a *platform.ExternalAuthStatus) { a.ExternalTokenHeaderName = "X-Upstream-Token" })
	te := tokenExchange(a)
	if te.HeaderStrategy != "custom" || te.ExternalTokenHeaderName != "X-Upstream-Token" {
		t.Errorf("tokenExchange(...): want custom header strategy with the header name, got %+v", te)
	}
	if tokenExchange(auth(func(a *platform.ExternalAuthStatus) { a.TokenURL = "" })) != nil {
		t.Error("tokenExchange(...): want nil without a token URL")
	}
}

func TestDeployment(t *testing.T) {
	in := input(v1beta1.ConfigModeConfigMap)
	in.Labels = map[string]string{"team": "a", "app": "not-a-selector"}
	objs := byName(Workload(server(), auth(), in))
	d := objs[NameDeployment].(*appsv1.Deployment)
	cm := objs[NameRunConfig].(*corev1.ConfigMap)
	pod := d.Spec.Template

	if got := pod.Annotations[AnnotationRunConfigSum]; got != cm.Annotations[AnnotationContentChecksum] {
		t.Errorf("pod runconfig checksum %q, want the ConfigMap's %q", got, cm.Annotations[AnnotationContentChecksum])
	}
	if got := pod.Annotations[AnnotationConfigHash]; got != "0123456789abcdef" {
		t.Errorf("pod config hash annotation %q, want the config's hash", got)
	}
	if d.Spec.Selector.MatchLabels["app"] != "mcpserver" || pod.Labels["app"] != "mcpserver" || pod.Labels["team"] != "a" {
		t.Errorf("input labels must be added but never override ToolHive's: selector %v, pod %v", d.Spec.Selector.MatchLabels, pod.Labels)
	}
	c := pod.Spec.Containers[0]
	if c.Name != ContainerName || c.Image != v1beta1.DefaultRunnerImage || pod.Spec.ServiceAccountName != "github-proxy-runner" {
		t.Errorf("container %q image %q service account %q", c.Name, c.Image, pod.Spec.ServiceAccountName)
	}
	wantEnv := []corev1.EnvVar{
		{Name: EnvClientSecret, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "backend-api-token-exchange"}, Key: "client_secret"}}},
		{Name: "XDG_CONFIG_HOME", Value: "/tmp"}, {Name: "HOME", Value: "/tmp"}, {Name: "TOOLHIVE_RUNTIME", Value: "kubernetes"}, {Name: "UNSTRUCTURED_LOGS", Value: "false"},
	}
	if diff := cmp.Diff(wantEnv, c.Env); diff != "" {
		t.Errorf("env: -want, +got:\n%s", diff)
	}
	if len(c.Args) != 3 || c.Args[0] != "run" || !strings.HasPrefix(c.Args[1], "--k8s-pod-patch=") || c.Args[2] != "ghcr.io/github/github-mcp-server:v1" {
		t.Errorf("args %v, want run --k8s-pod-patch=<json> <image>", c.Args)
	}
	patch := map[string]any{}
	if err := json.Unmarshal([]byte(strings.TrimPrefix(c.Args[1], "--k8s-pod-patch=")), &patch); err != nil {
		t.Fatalf("pod patch is not JSON: %v", err)
	}
	wantPatch := map[string]any{"spec": map[string]any{
		"serviceAccountName": "github-sa",
		"containers": []any{map[string]any{"name": "mcp", "resources": map[string]any{}, "env": []any{
			map[string]any{"name": "GITHUB_TOKEN", "valueFrom": map[string]any{"secretKeyRef": map[string]any{"name": "gh", "key": "token"}}},
		}}},
	}}
	if diff := cmp.Diff(wantPatch, patch); diff != "" {
		t.Errorf("pod patch: -want, +got:\n%s", diff)
	}
	if c.VolumeMounts[0].MountPath != RunConfigMountPath || pod.Spec.Volumes[0].ConfigMap.Name != "github-runconfig" {
		t.Errorf("RunConfig must be mounted from github-runconfig at %s", RunConfigMountPath)
	}

	// A public client gets no secret environment, and no auth no hash.
	d = byName(Workload(server(), auth(func(a *platform.ExternalAuthStatus) { a.ClientSecretRef = nil }), in))[NameDeployment].(*appsv1.Deployment)
	if d.Spec.Template.Spec.Containers[0].Env[0].Name == EnvClientSecret {
		t.Error("a public client must not get the client secret variable")
	}
	d = byName(Workload(server(func(s *Server) { s.Spec.ExternalAuth = nil }), nil, in))[NameDeployment].(*appsv1.Deployment)
	if _, ok := d.Spec.Template.Annotations[AnnotationConfigHash]; ok {
		t.Error("a server without external auth must not carry a config hash")
	}
}

func TestResourcesInPodPatch(t *testing.T) {
	s := server(func(s *Server) {
		s.Spec.Resources = &platform.ResourceRequirements{Limits: platform.ResourceList{CPU: "500m", Memory: "256Mi"}, Requests: platform.ResourceList{CPU: "100m"}}
		s.Spec.ServiceAccount = ptr.To("existing")
	})
	got := podPatch(s)
	want := `{"spec":{"containers":[{"name":"mcp","env":[{"name":"GITHUB_TOKEN","valueFrom":{"secretKeyRef":{"name":"gh","key":"token"}}}],"resources":{"limits":{"cpu":"500m","memory":"256Mi"},"requests":{"cpu":"100m"}}}],"serviceAccountName":"existing"}}`
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("podPatch(...): -want, +got:\n%s", diff)
	}
}

func TestServiceAndUsage(t *testing.T) {
	s := server()
	objs := byName(Workload(s, auth(), input(v1beta1.ConfigModeConfigMap)))
	svc := objs[NameService].(*corev1.Service)
	if svc.Name != "mcp-github-proxy" || svc.Spec.Ports[0].Port != 8080 || svc.Spec.Selector["app.kubernetes.io/instance"] != "github" {
		t.Errorf("service %s ports %v selector %v", svc.Name, svc.Spec.Ports, svc.Spec.Selector)
	}
	if got, want := URL(s), "http://mcp-github-proxy.team-a.svc.cluster.local:8080"; got != want {
		t.Errorf("URL(...) = %q, want %q", got, want)
	}
	u := objs[NameUsage].(*protectionv1beta1.Usage)
	if u.Spec.Of.Kind != authv1alpha1.ExternalAuthConfigKind || u.Spec.Of.ResourceRef.Name != "backend-api" ||
		u.Spec.By.Kind != "Deployment" || u.Spec.By.ResourceRef.Name != "github" || u.Spec.ReplayDeletion != nil {
		t.Errorf("usage of a shared config: %+v", u.Spec)
	}
	inline := auth(func(a *platform.ExternalAuthStatus) { a.ConfigName = InlineConfigName(s) })
	u = byName(Workload(s, inline, input(v1beta1.ConfigModeConfigMap)))[NameUsage].(*protectionv1beta1.Usage)
	if u.Spec.ReplayDeletion == nil || !*u.Spec.ReplayDeletion {
		t.Error("the Usage of a dedicated config must replay its deletion")
	}
}

func TestInlineConfig(t *testing.T) {
	s := server(func(s *Server) {
		s.Spec.ExternalAuth = &platform.ExternalAuth{Inline: &config().Spec.ForProvider}
	})
	c := InlineConfig(s, input(v1beta1.ConfigModeConfigMap))
	if c.Name != "github-external-auth" || c.Namespace != "team-a" || c.GetWriteConnectionSecretToReference().Name != "github-external-auth" {
		t.Errorf("inline config %s/%s publishing to %v", c.Namespace, c.Name, c.GetWriteConnectionSecretToReference())
	}
	if diff := cmp.Diff(config().Spec.ForProvider, c.Spec.ForProvider); diff != "" {
		t.Errorf("inline forProvider: -want, +got:\n%s", diff)
	}
}

func TestNoSecretValueRendered(t *testing.T) {
	// The function never sees secret values; make sure nothing it renders
	// could carry one even if a value slipped into a setting it copies.
	b, err := json.Marshal(Workload(server(), auth(), input(v1beta1.ConfigModeConfigMap)))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), secretValue) || strings.Contains(string(b), `client_secret":"`) {
		t.Error("a secret value was rendered")
	}
}

func TestDeterministic(t *testing.T) {
	a, _ := json.Marshal(Workload(server(), auth(), input(v1beta1.ConfigModeConfigMap)))
	b, _ := json.Marshal(Workload(server(), auth(), input(v1beta1.ConfigModeConfigMap)))
	if string(a) != string(b) {
		t.Error("identical inputs rendered different bytes")
	}
}

// TestHashChangeRollsOnlyThePodTemplate proves a rotated secret (new hash,
// same settings) changes the pod template's hash annotation and nothing else.
func TestHashChangeRollsOnlyThePodTemplate(t *testing.T) {
	in := input(v1beta1.ConfigModeConfigMap)
	before := Workload(server(), auth(), in)
	after := Workload(server(), auth(func(a *platform.ExternalAuthStatus) { a.ConfigHash = "fedcba9876543210" }), in)
	for i := range before {
		if before[i].Name == NameDeployment {
			d := after[i].Object.(*appsv1.Deployment).DeepCopy()
			if d.Spec.Template.Annotations[AnnotationConfigHash] != "fedcba9876543210" {
				t.Fatal("the new hash did not reach the pod template")
			}
			d.Spec.Template.Annotations[AnnotationConfigHash] = "0123456789abcdef"
			if diff := cmp.Diff(before[i].Object, d); diff != "" {
				t.Errorf("a hash change changed more than the annotation: -before, +after:\n%s", diff)
			}
			continue
		}
		if diff := cmp.Diff(before[i], after[i]); diff != "" {
			t.Errorf("a hash change changed %s: -before, +after:\n%s", before[i].Name, diff)
		}
	}
}

func TestValidate(t *testing.T) {
	long := strings.Repeat("a", MaxNameLength+1)
	cases := map[string]struct {
		reason string
		srv    *Server
		want   string
	}{
		"Valid":         {reason: "A complete server is valid.", srv: server()},
		"LongestName":   {reason: "A name of the maximum length fits.", srv: server(func(s *Server) { s.Name = long[1:] })},
		"NoName":        {reason: "Names are needed.", srv: server(func(s *Server) { s.Name = "" }), want: "no name"},
		"NameTooLong":   {reason: "The Service name must fit a DNS label.", srv: server(func(s *Server) { s.Name = long }), want: "at most 53"},
		"NoNamespace":   {reason: "Objects need a namespace.", srv: server(func(s *Server) { s.Namespace = "" }), want: "no namespace"},
		"UpperCaseName": {reason: "Objects are named after the server: an upper-case name cannot name them.", srv: server(func(s *Server) { s.Name = "A" }), want: `name "A" cannot name the workload's objects: a lowercase RFC 1123 label`},
		"DottedName":    {reason: "mcp-<name>-proxy must be a DNS label: a dot makes it none.", srv: server(func(s *Server) { s.Name = "a.b" }), want: `name "a.b" cannot name`},
		"LeadingDash":   {reason: "A name must start with an alphanumeric character.", srv: server(func(s *Server) { s.Name = "-a" }), want: `name "-a" cannot name`},
		"BadCABundleName": {reason: "The CA bundle's ConfigMap name must be one.", srv: server(func(s *Server) {
			s.Spec.OIDC.CABundleRef = &platform.CABundleRef{ConfigMapName: "Not_A_Name"}
		}), want: `spec.oidc.caBundleRef.configMapName "Not_A_Name" is not a ConfigMap name`},
		"BadCABundleKey": {reason: "A key with a slash would escape the mount.", srv: server(func(s *Server) {
			s.Spec.OIDC.CABundleRef = &platform.CABundleRef{ConfigMapName: "ca", Key: "../x"}
		}), want: `spec.oidc.caBundleRef.key "../x" is not a ConfigMap key`},
		"BadNamespace": {reason: "The namespace must be a namespace name.", srv: server(func(s *Server) { s.Namespace = "Team_A" }), want: `namespace "Team_A" is not a namespace name`},
		"NoImage":      {reason: "The image is required.", srv: server(func(s *Server) { s.Spec.Image = "" }), want: "spec.image is required"},
		"ImageIsRunnerFlag": {reason: "The image is an argument of the proxy runner: one that starts with a dash would be a flag to it, here one that makes the MCP server's pod privileged.", srv: server(func(s *Server) {
			s.Spec.Image = `--k8s-pod-patch={"spec":{"containers":[{"name":"mcp","securityContext":{"privileged":true}}]}}`
		}), want: `spec.image "--k8s-pod-patch={\"spec\"`},
		"ImageLeadingDash":   {reason: "A leading dash is refused even where the rest would parse.", srv: server(func(s *Server) { s.Spec.Image = "-registry/x" }), want: `spec.image "-registry/x" must not start with "-"`},
		"ImageNotAReference": {reason: "An image must parse as an image reference.", srv: server(func(s *Server) { s.Spec.Image = "ghcr.io/Upper Case:v1" }), want: `spec.image "ghcr.io/Upper Case:v1" is not an image reference`},
		"ImageWithDigest": {reason: "A digest reference is an image reference.", srv: server(func(s *Server) {
			s.Spec.Image = "ghcr.io/github/github-mcp-server@sha256:" + strings.Repeat("a", 64)
		})},
		"BadTransport":    {reason: "Transports are an enum.", srv: server(func(s *Server) { s.Spec.Transport = "grpc" }), want: "spec.transport"},
		"BadProxyMode":    {reason: "Proxy modes are an enum.", srv: server(func(s *Server) { s.Spec.ProxyMode = "stdio" }), want: "spec.proxyMode"},
		"PortTooHigh":     {reason: "Ports end at 65535.", srv: server(func(s *Server) { s.Spec.ProxyPort = 70000 }), want: "spec.proxyPort"},
		"MCPPortNegative": {reason: "Ports are positive.", srv: server(func(s *Server) { s.Spec.MCPPort = -1 }), want: "spec.mcpPort"},
		"BadQuantity": {reason: "Resources must parse.", srv: server(func(s *Server) {
			s.Spec.Resources = &platform.ResourceRequirements{Limits: platform.ResourceList{Memory: "lots"}}
		}), want: "spec.resources.limits.memory"},
		"BothAuth": {reason: "configRef and inline exclude each other.", srv: server(func(s *Server) {
			s.Spec.ExternalAuth.Inline = &config().Spec.ForProvider
		}), want: "exactly one"},
		"NeitherAuth": {reason: "An empty externalAuth is refused.", srv: server(func(s *Server) {
			s.Spec.ExternalAuth = &platform.ExternalAuth{}
		}), want: "exactly one"},
		"CrossNamespace": {reason: "A config in another namespace is refused.", srv: server(func(s *Server) {
			s.Spec.ExternalAuth.ConfigRef.Namespace = "team-b"
		}), want: "configRef.namespace is not allowed"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := Validate(tc.srv)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Errorf("%s\nValidate(...) = %q, want an error containing %q", tc.reason, got, tc.want)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	s := platform.MCPServerSpec{}
	Defaults(&s)
	want := platform.MCPServerSpec{Transport: "stdio", ProxyMode: "streamable-http", ProxyPort: 8080}
	if diff := cmp.Diff(want, s); diff != "" {
		t.Errorf("Defaults: -want, +got:\n%s", diff)
	}
}

// TestOIDCCABundle proves the inbound OIDC CA bundle is mounted into the
// runner's pod and named in the RunConfig, and nothing is mounted without.
func TestOIDCCABundle(t *testing.T) {
	s := server(func(s *Server) {
		s.Spec.OIDC.CABundleRef = &platform.CABundleRef{ConfigMapName: "idp-ca", Key: "bundle.pem"}
		s.Spec.OIDC.JWKSAllowPrivateIP = true
	})
	objs := byName(Workload(s, auth(), input(v1beta1.ConfigModeConfigMap)))
	pod := objs[NameDeployment].(*appsv1.Deployment).Spec.Template.Spec
	wantVolume := corev1.Volume{Name: "oidc-ca", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: "idp-ca"},
		Items:                []corev1.KeyToPath{{Key: "bundle.pem", Path: "bundle.pem"}},
	}}}
	if diff := cmp.Diff(wantVolume, pod.Volumes[1]); diff != "" {
		t.Errorf("CA bundle volume: -want, +got:\n%s", diff)
	}
	if diff := cmp.Diff(corev1.VolumeMount{Name: "oidc-ca", MountPath: OIDCCAMountPath, ReadOnly: true}, pod.Containers[0].VolumeMounts[1]); diff != "" {
		t.Errorf("CA bundle mount: -want, +got:\n%s", diff)
	}
	rc := &RunConfig{}
	if err := json.Unmarshal([]byte(objs[NameRunConfig].(*corev1.ConfigMap).Data[RunConfigKey]), rc); err != nil {
		t.Fatal(err)
	}
	if rc.OIDCConfig.CACertPath != "/etc/toolhive/oidc-ca/bundle.pem" || rc.ThvCABundle != rc.OIDCConfig.CACertPath || !rc.OIDCConfig.AllowPrivateIP {
		t.Errorf("oidc_config %+v, thv_ca_bundle %q", rc.OIDCConfig, rc.ThvCABundle)
	}

	plain := byName(Workload(server(), auth(), input(v1beta1.ConfigModeConfigMap)))[NameDeployment].(*appsv1.Deployment).Spec.Template.Spec
	if len(plain.Volumes) != 1 || len(plain.Containers[0].VolumeMounts) != 1 {
		t.Errorf("without a CA bundle only the RunConfig is mounted: %v", plain.Volumes)
	}
}
