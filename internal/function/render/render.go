// Package render turns an MCPServer into the objects that run it behind the
// ToolHive proxy runner. It is pure: an XR, the outgoing authentication in
// effect and the function's input go in, Kubernetes objects come out. It
// reads and writes nothing, so identical inputs give identical objects.
package render

import (
	"encoding/json"
	"fmt"
	"maps"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"

	"github.com/google/go-containerregistry/pkg/name"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	protectionv1beta1 "github.com/crossplane/crossplane/apis/v2/protection/v1beta1"

	authv1alpha1 "github.com/crossmcp/provider-mcp/apis/auth/v1alpha1"
	platform "github.com/crossmcp/provider-mcp/apis/platform/v1alpha1"
	"github.com/crossmcp/provider-mcp/internal/function/input/v1beta1"
)

// Names of the composed resources in the function pipeline (not object names).
const (
	NameProxyRunnerServiceAccount = "proxy-runner-serviceaccount"
	NameProxyRunnerRoleBinding    = "proxy-runner-binding"
	NameServerServiceAccount      = "mcp-serviceaccount"
	NameRunConfig                 = "runconfig"
	NameDeployment                = "deployment"
	NameService                   = "service"
	NameExternalAuthConfig        = "external-auth-config"
	NameUsage                     = "external-auth-usage"
)

// Keys, labels and annotations ToolHive's operator uses, and ours.
const (
	RunConfigKey              = "runconfig.json"
	RunConfigMountPath        = "/etc/runconfig"
	AnnotationContentChecksum = "toolhive.stacklok.dev/content-checksum"
	AnnotationRunConfigSum    = "toolhive.stacklok.dev/runconfig-checksum"
	AnnotationConfigHash      = "mcp.crossmcp.io/external-auth-config-hash"
	EnvClientSecret           = "TOOLHIVE_TOKEN_EXCHANGE_CLIENT_SECRET"
	ContainerName             = "toolhive"
	MCPContainerName          = "mcp"
	PortName                  = "http"
)

// MaxNameLength keeps Service mcp-<name>-proxy within a DNS label.
const MaxNameLength = 63 - len("mcp-") - len("-proxy")

// Server is an MCPServer as the function sees it: the name and namespace its
// objects get (a claim's, for legacy XRs) and the spec with defaults applied.
type Server struct {
	Name      string
	Namespace string
	Spec      platform.MCPServerSpec
}

// Object is a rendered object and its name in the function pipeline.
type Object struct {
	Name   string
	Object runtime.Object
}

// validateImage refuses an image that is not an image reference. The image
// is an argument of the proxy runner: one starting with a dash would be a
// flag to it (--k8s-pod-patch could make the MCP server's pod anything).
func validateImage(image string) error {
	if strings.HasPrefix(image, "-") {
		return fmt.Errorf("spec.image %q must not start with \"-\": it would be a flag to the proxy runner", image)
	}
	if _, err := name.ParseReference(image); err != nil {
		return fmt.Errorf("spec.image %q is not an image reference: %w", image, err)
	}
	return nil
}

// Defaults fills in what the XRD's defaults would have, for XRs read before
// the API server defaulted them (crossplane render, fuzzing).
func Defaults(s *platform.MCPServerSpec) {
	if s.Transport == "" {
		s.Transport = platform.TransportStdio
	}
	if s.ProxyMode == "" {
		s.ProxyMode = platform.TransportStreamableHTTP
	}
	if s.ProxyPort == 0 {
		s.ProxyPort = 8080
	}
}

// Validate checks what the XRD schema also checks, for XRs that reached the
// function without it, and what the schema cannot see: the name's length.
func Validate(s *Server) error {
	switch {
	case s.Name == "":
		return fmt.Errorf("the MCPServer has no name")
	case len(s.Name) > MaxNameLength:
		return fmt.Errorf("name %q is %d characters long: at most %d fit the proxy's Service name mcp-<name>-proxy", s.Name, len(s.Name), MaxNameLength)
	case len(validation.IsDNS1123Label(s.Name)) > 0:
		// A claim or XR the API server would never have stored, as crossplane
		// render or a hand-written claimRef can give: every object is named
		// after it, and mcp-<name>-proxy must be a DNS label.
		return fmt.Errorf("name %q cannot name the workload's objects: %s", s.Name, strings.Join(validation.IsDNS1123Label(s.Name), "; "))
	case s.Namespace == "":
		return fmt.Errorf("the MCPServer %q has no namespace to run in", s.Name)
	case len(validation.IsDNS1123Label(s.Namespace)) > 0:
		return fmt.Errorf("namespace %q is not a namespace name: %s", s.Namespace, strings.Join(validation.IsDNS1123Label(s.Namespace), "; "))
	case s.Spec.Image == "":
		return fmt.Errorf("spec.image is required: the MCP server's container image")
	}
	if err := validateImage(s.Spec.Image); err != nil {
		return err
	}
	switch s.Spec.Transport {
	case platform.TransportStdio, platform.TransportSSE, platform.TransportStreamableHTTP:
	default:
		return fmt.Errorf("spec.transport %q is not one of stdio, sse, streamable-http", s.Spec.Transport)
	}
	switch s.Spec.ProxyMode {
	case platform.TransportSSE, platform.TransportStreamableHTTP:
	default:
		return fmt.Errorf("spec.proxyMode %q is not one of sse, streamable-http", s.Spec.ProxyMode)
	}
	if p := s.Spec.ProxyPort; p < 1 || p > 65535 {
		return fmt.Errorf("spec.proxyPort %d is not a port (1-65535)", p)
	}
	if p := s.Spec.MCPPort; p < 0 || p > 65535 {
		return fmt.Errorf("spec.mcpPort %d is not a port (1-65535)", p)
	}
	if r := s.Spec.Resources; r != nil {
		for _, q := range [][2]string{{"limits.cpu", r.Limits.CPU}, {"limits.memory", r.Limits.Memory}, {"requests.cpu", r.Requests.CPU}, {"requests.memory", r.Requests.Memory}} {
			if q[1] == "" {
				continue
			}
			if _, err := resource.ParseQuantity(q[1]); err != nil {
				return fmt.Errorf("spec.resources.%s %q is not a quantity", q[0], q[1])
			}
		}
	}
	if o := s.Spec.OIDC; o != nil && o.CABundleRef != nil {
		if errs := validation.IsDNS1123Subdomain(o.CABundleRef.ConfigMapName); len(errs) > 0 {
			return fmt.Errorf("spec.oidc.caBundleRef.configMapName %q is not a ConfigMap name: %s", o.CABundleRef.ConfigMapName, strings.Join(errs, "; "))
		}
		if errs := validation.IsConfigMapKey(caBundleKey(o.CABundleRef)); len(errs) > 0 {
			return fmt.Errorf("spec.oidc.caBundleRef.key %q is not a ConfigMap key: %s", o.CABundleRef.Key, strings.Join(errs, "; "))
		}
	}
	if ea := s.Spec.ExternalAuth; ea != nil && (ea.ConfigRef == nil) == (ea.Inline == nil) {
		return fmt.Errorf("spec.externalAuth must set exactly one of configRef and inline")
	}
	if ea := s.Spec.ExternalAuth; ea != nil && ea.ConfigRef != nil && ea.ConfigRef.Namespace != "" {
		return fmt.Errorf("spec.externalAuth.configRef.namespace is not allowed: the ExternalAuthConfig must be in the MCPServer's namespace %q", s.Namespace)
	}
	return nil
}

// URL is where the proxy serves inside the cluster.
func URL(s *Server) string {
	return fmt.Sprintf("http://mcp-%s-proxy.%s.svc.cluster.local:%d", s.Name, s.Namespace, s.Spec.ProxyPort)
}

// InlineConfigName is the name of the dedicated ExternalAuthConfig of a
// server with inline settings, and of its connection secret.
func InlineConfigName(s *Server) string { return s.Name + "-external-auth" }

// InlineConfig is the dedicated ExternalAuthConfig of a server with inline
// settings.
func InlineConfig(s *Server, in *v1beta1.Workload) *authv1alpha1.ExternalAuthConfig {
	name := InlineConfigName(s)
	c := &authv1alpha1.ExternalAuthConfig{
		TypeMeta:   metav1.TypeMeta{APIVersion: authv1alpha1.SchemeGroupVersion.String(), Kind: authv1alpha1.ExternalAuthConfigKind},
		ObjectMeta: meta(name, s, in, nil),
		Spec:       authv1alpha1.ExternalAuthConfigSpec{ForProvider: *s.Spec.ExternalAuth.Inline.DeepCopy()},
	}
	c.SetWriteConnectionSecretToReference(&xpv2.LocalSecretReference{Name: name})
	return c
}

// Workload returns the objects that run the server: RBAC, the RunConfig
// ConfigMap, the proxy runner Deployment, its Service and, with
// external auth, a Usage that keeps the config while the Deployment exists.
// a is the outgoing authentication in effect, nil for none.
func Workload(s *Server, a *platform.ExternalAuthStatus, in *v1beta1.Workload) []Object {
	runner := s.Name + "-proxy-runner"
	objs := []Object{
		{NameProxyRunnerServiceAccount, &corev1.ServiceAccount{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
			ObjectMeta: meta(runner, s, in, nil),
		}},
		{NameProxyRunnerRoleBinding, &rbacv1.RoleBinding{
			TypeMeta:   metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "RoleBinding"},
			ObjectMeta: meta(s.Name+"-mcp-proxy-runner", s, in, nil),
			// A ClusterRole the platform installs once: Crossplane may bind
			// it, and only it, and writes no Roles of its own.
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: ProxyRunnerClusterRole},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: runner, Namespace: s.Namespace}},
		}},
	}
	if s.Spec.ServiceAccount == nil {
		objs = append(objs, Object{NameServerServiceAccount, &corev1.ServiceAccount{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
			ObjectMeta: meta(serverServiceAccount(s), s, in, nil),
		}})
	}

	data := map[string]string{RunConfigKey: runConfigJSON(runConfig(s.Name, &s.Spec, a))}
	sum := checksum(data)
	objs = append(objs, Object{NameRunConfig, &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: meta(s.Name+"-runconfig", s, in, map[string]string{AnnotationContentChecksum: sum}),
		Data:       data,
	}})
	podAnnotations := map[string]string{AnnotationRunConfigSum: sum}
	args := []string{"run", "--k8s-pod-patch=" + podPatch(s), s.Spec.Image}
	volumes, mounts := runnerVolumes(s)
	if a != nil && a.ConfigHash != "" {
		podAnnotations[AnnotationConfigHash] = a.ConfigHash
	}

	var env []corev1.EnvVar
	if a != nil && a.ClientSecretRef != nil {
		env = append(env, corev1.EnvVar{Name: EnvClientSecret, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: a.ClientSecretRef.Name},
			Key:                  a.ClientSecretRef.Key,
		}}})
	}
	env = append(env,
		corev1.EnvVar{Name: "XDG_CONFIG_HOME", Value: "/tmp"},
		corev1.EnvVar{Name: "HOME", Value: "/tmp"},
		corev1.EnvVar{Name: "TOOLHIVE_RUNTIME", Value: "kubernetes"},
		corev1.EnvVar{Name: "UNSTRUCTURED_LOGS", Value: "false"},
	)

	labels := podLabels(s)
	probe := func(delay, period, timeout int32) *corev1.Probe {
		return &corev1.Probe{
			ProbeHandler:        corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/health", Port: intstr.FromString(PortName)}},
			InitialDelaySeconds: delay, PeriodSeconds: period, TimeoutSeconds: timeout, FailureThreshold: 3,
		}
	}
	objs = append(objs, Object{NameDeployment, &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: appsv1.SchemeGroupVersion.String(), Kind: "Deployment"},
		ObjectMeta: meta(s.Name, s, in, nil),
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: withExtra(labels, in.Labels), Annotations: withExtra(podAnnotations, in.Annotations)},
				Spec: corev1.PodSpec{
					ServiceAccountName: runner,
					SecurityContext:    &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
					Containers: []corev1.Container{{
						Name:           ContainerName,
						Image:          in.RunnerImage,
						Args:           args,
						Env:            env,
						Ports:          []corev1.ContainerPort{{Name: PortName, ContainerPort: s.Spec.ProxyPort, Protocol: corev1.ProtocolTCP}},
						LivenessProbe:  probe(30, 10, 5),
						ReadinessProbe: probe(5, 5, 3),
						VolumeMounts:   mounts,
						SecurityContext: &corev1.SecurityContext{
							AllowPrivilegeEscalation: ptr.To(false),
							Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
						},
					}},
					Volumes: volumes,
				},
			},
		},
	}})
	objs = append(objs, Object{NameService, &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: meta("mcp-"+s.Name+"-proxy", s, in, nil),
		Spec: corev1.ServiceSpec{
			Selector: labels,
			Ports:    []corev1.ServicePort{{Name: PortName, Port: s.Spec.ProxyPort, TargetPort: intstr.FromString(PortName), Protocol: corev1.ProtocolTCP}},
		},
	}})
	if a != nil {
		objs = append(objs, Object{NameUsage, usage(s, a, in)})
	}
	return objs
}

// runnerVolumes are the runner's volumes and mounts: the RunConfig, and the
// inbound OIDC CA bundle when the server names one.
func runnerVolumes(s *Server) ([]corev1.Volume, []corev1.VolumeMount) {
	volumes := []corev1.Volume{{Name: "runconfig", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: s.Name + "-runconfig"},
	}}}}
	mounts := []corev1.VolumeMount{{Name: "runconfig", MountPath: RunConfigMountPath, ReadOnly: true}}
	if o := s.Spec.OIDC; o != nil && o.CABundleRef != nil {
		volumes = append(volumes, corev1.Volume{Name: "oidc-ca", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: o.CABundleRef.ConfigMapName},
			Items:                []corev1.KeyToPath{{Key: caBundleKey(o.CABundleRef), Path: caBundleKey(o.CABundleRef)}},
		}}})
		mounts = append(mounts, corev1.VolumeMount{Name: "oidc-ca", MountPath: OIDCCAMountPath, ReadOnly: true})
	}
	return volumes, mounts
}

// usage keeps the external auth config while the Deployment exists. A
// dedicated config's deletion, refused while the Deployment exists, is
// replayed once the Usage goes, so the XR's deletion finishes promptly.
func usage(s *Server, a *platform.ExternalAuthStatus, in *v1beta1.Workload) *protectionv1beta1.Usage {
	u := &protectionv1beta1.Usage{
		TypeMeta:   metav1.TypeMeta{APIVersion: protectionv1beta1.SchemeGroupVersion.String(), Kind: protectionv1beta1.UsageKind},
		ObjectMeta: meta(s.Name+"-external-auth", s, in, nil),
		Spec: protectionv1beta1.UsageSpec{
			Of: protectionv1beta1.NamespacedResource{
				APIVersion:  authv1alpha1.SchemeGroupVersion.String(),
				Kind:        authv1alpha1.ExternalAuthConfigKind,
				ResourceRef: &protectionv1beta1.NamespacedResourceRef{Name: a.ConfigName},
			},
			By: &protectionv1beta1.Resource{
				APIVersion:  appsv1.SchemeGroupVersion.String(),
				Kind:        "Deployment",
				ResourceRef: &protectionv1beta1.ResourceRef{Name: s.Name},
			},
		},
	}
	if a.ConfigName == InlineConfigName(s) {
		u.Spec.ReplayDeletion = ptr.To(true)
	}
	return u
}

// ProxyRunnerClusterRole is the ClusterRole every proxy runner is bound to,
// in its own namespace only (a RoleBinding). The platform installs it
// (cluster/rbac/aggregate-to-crossplane.yaml); Crossplane may bind it and no
// other role.
const ProxyRunnerClusterRole = "crossmcp:mcp-proxy-runner"

// ProxyRunnerRules are what the proxy runner needs to run the MCP server as a
// StatefulSet: ToolHive's operator's rules, pods/attach for stdio servers.
// Never secrets. They are ProxyRunnerClusterRole's rules; a test keeps the
// two the same.
func ProxyRunnerRules() []rbacv1.PolicyRule {
	all := []string{"get", "list", "watch", "create", "update", "patch", "delete"}
	return []rbacv1.PolicyRule{
		{APIGroups: []string{"apps"}, Resources: []string{"statefulsets"}, Verbs: all},
		{APIGroups: []string{""}, Resources: []string{"services"}, Verbs: all},
		{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list", "watch"}},
		{APIGroups: []string{""}, Resources: []string{"pods/log"}, Verbs: []string{"get"}},
		{APIGroups: []string{""}, Resources: []string{"pods/attach"}, Verbs: []string{"create", "get"}},
		{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list", "watch"}},
	}
}

func serverServiceAccount(s *Server) string {
	if s.Spec.ServiceAccount != nil {
		return *s.Spec.ServiceAccount
	}
	return s.Name + "-sa"
}

// podPatch is the --k8s-pod-patch the runner applies to the MCP server's pod:
// its service account, resources and secret environment. Secrets enter as
// references, never values.
func podPatch(s *Server) string {
	c := corev1.Container{Name: MCPContainerName}
	for _, se := range s.Spec.Secrets {
		name := se.TargetEnvName
		if name == "" {
			name = se.Key
		}
		c.Env = append(c.Env, corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: se.Name}, Key: se.Key,
		}}})
	}
	if r := s.Spec.Resources; r != nil {
		c.Resources = corev1.ResourceRequirements{Limits: resourceList(r.Limits), Requests: resourceList(r.Requests)}
	}
	p := map[string]any{"spec": map[string]any{
		"serviceAccountName": serverServiceAccount(s),
		"containers":         []corev1.Container{c},
	}}
	b, _ := json.Marshal(p) //nolint:errchkjson // Strings and validated quantities always marshal.
	return string(b)
}

func resourceList(l platform.ResourceList) corev1.ResourceList {
	rl := corev1.ResourceList{}
	if l.CPU != "" {
		rl[corev1.ResourceCPU] = resource.MustParse(l.CPU)
	}
	if l.Memory != "" {
		rl[corev1.ResourceMemory] = resource.MustParse(l.Memory)
	}
	if len(rl) == 0 {
		return nil
	}
	return rl
}

// podLabels select the proxy runner's pods: ToolHive's labels.
func podLabels(s *Server) map[string]string {
	return map[string]string{
		"app":                        "mcpserver",
		"app.kubernetes.io/name":     "mcpserver",
		"app.kubernetes.io/instance": s.Name,
		"toolhive":                   "true",
		"toolhive-name":              s.Name,
	}
}

// meta is the metadata of a rendered object: ToolHive's labels plus the
// input's labels and annotations.
func meta(name string, s *Server, in *v1beta1.Workload, annotations map[string]string) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:        name,
		Namespace:   s.Namespace,
		Labels:      withExtra(podLabels(s), in.Labels),
		Annotations: withExtra(annotations, in.Annotations),
	}
}

// withExtra returns base with extra added; base wins where both set a key,
// so input labels cannot break selectors or checksums.
func withExtra(base, extra map[string]string) map[string]string {
	if len(base) == 0 && len(extra) == 0 {
		return nil
	}
	out := make(map[string]string, len(base)+len(extra))
	maps.Copy(out, extra)
	maps.Copy(out, base)
	return out
}
