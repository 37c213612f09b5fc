package externalauthconfig

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/crossmcp/provider-mcp/apis/auth/v1alpha1"
	mcpv1alpha1 "github.com/crossmcp/provider-mcp/apis/v1alpha1"
	"github.com/crossmcp/provider-mcp/internal/authconfig"
	"github.com/crossmcp/provider-mcp/internal/oauth"
)

// Condition reasons of provider config problems.
const (
	ReasonProviderConfigNotFound xpv2.ConditionReason = "ProviderConfigNotFound"
	ReasonProviderConfigInvalid  xpv2.ConditionReason = "ProviderConfigInvalid"
	ReasonCABundleUnavailable    xpv2.ConditionReason = "CABundleUnavailable"
)

const (
	defaultHTTPTimeout = 10 * time.Second
	// maxHTTPTimeout bounds how long one server may hold a check.
	maxHTTPTimeout = 30 * time.Second
)

// clientSettings are the provider config's settings for talking to
// authorization servers.
type clientSettings struct {
	caPEM    []byte
	timeout  time.Duration
	proxyURL string
	allowed  []string
	networks oauth.Networks
}

// key identifies settings that need their own HTTP client.
func (s clientSettings) key() string {
	h := sha256.New()
	fmt.Fprintf(h, "%d\n%s\n%d\n", s.timeout, s.proxyURL, s.networks)
	h.Write(s.caPEM)
	return hex.EncodeToString(h.Sum(nil))
}

// keyRef is a Secret or ConfigMap key, resolved to a namespace.
type keyRef struct {
	configMap bool
	namespace string
	name      string
	key       string
}

// resolveSettings reads the provider config an ExternalAuthConfig references.
// A namespaced ProviderConfig may allow private networks only when
// namespacedPrivate says the platform lets it.
func resolveSettings(ctx context.Context, c client.Reader, mg *v1alpha1.ExternalAuthConfig, namespacedPrivate bool) (clientSettings, error) {
	ref := mg.GetProviderConfigReference()
	if ref == nil {
		return clientSettings{}, authconfig.Errorf(ReasonProviderConfigNotFound, "no providerConfigRef is set")
	}
	var (
		cs  clientSettings
		ca  *keyRef
		err error
	)
	switch ref.Kind {
	case mcpv1alpha1.ProviderConfigKind:
		pc := &mcpv1alpha1.ProviderConfig{}
		if err := c.Get(ctx, types.NamespacedName{Namespace: mg.GetNamespace(), Name: ref.Name}, pc); err != nil {
			return cs, notFoundOr(err, "ProviderConfig %q in namespace %q", ref.Name, mg.GetNamespace())
		}
		if pc.Spec.AllowPrivateNetworks && !namespacedPrivate {
			return cs, authconfig.Errorf(ReasonProviderConfigInvalid, "ProviderConfig %q sets allowPrivateNetworks, which only a ClusterProviderConfig may: the provider does not run with --namespaced-private-networks", ref.Name)
		}
		if cs, err = fromConnection(pc.Spec.ConnectionSettings); err != nil {
			return cs, err
		}
		if b := pc.Spec.CABundle; b != nil {
			ca = localCARef(b, pc.GetNamespace())
		}
	case mcpv1alpha1.ClusterProviderConfigKind:
		pc := &mcpv1alpha1.ClusterProviderConfig{}
		if err := c.Get(ctx, types.NamespacedName{Name: ref.Name}, pc); err != nil {
			return cs, notFoundOr(err, "ClusterProviderConfig %q", ref.Name)
		}
		if cs, err = fromConnection(pc.Spec.ConnectionSettings); err != nil {
			return cs, err
		}
		if b := pc.Spec.CABundle; b != nil {
			ca = clusterCARef(b)
		}
	default:
		return cs, authconfig.Errorf(ReasonProviderConfigInvalid, "providerConfigRef kind %q is neither ProviderConfig nor ClusterProviderConfig", ref.Kind)
	}
	if ca == nil {
		return cs, nil
	}
	pem, err := readKey(ctx, c, *ca)
	if err != nil {
		return cs, err
	}
	if !x509.NewCertPool().AppendCertsFromPEM(pem) {
		return cs, authconfig.Errorf(ReasonCABundleUnavailable, "CA bundle %s holds no PEM certificate", ca)
	}
	cs.caPEM = pem
	return cs, nil
}

func (r keyRef) String() string {
	kind := "Secret"
	if r.configMap {
		kind = "ConfigMap"
	}
	return fmt.Sprintf("%s %s/%s key %q", kind, r.namespace, r.name, r.key)
}

func fromConnection(s mcpv1alpha1.ConnectionSettings) (clientSettings, error) {
	cs := clientSettings{timeout: defaultHTTPTimeout, proxyURL: s.ProxyURL, allowed: s.AllowedTokenHosts}
	if s.HTTPTimeout != nil && s.HTTPTimeout.Duration > 0 {
		cs.timeout = s.HTTPTimeout.Duration
	}
	if cs.timeout > maxHTTPTimeout {
		return cs, authconfig.Errorf(ReasonProviderConfigInvalid, "httpTimeout %s is more than %s", cs.timeout, maxHTTPTimeout)
	}
	if s.AllowPrivateNetworks {
		cs.networks = oauth.PrivateAllowed
	}
	return cs, nil
}

func localCARef(b *mcpv1alpha1.LocalCABundleSource, ns string) *keyRef {
	switch {
	case b.SecretRef != nil:
		return &keyRef{namespace: ns, name: b.SecretRef.Name, key: b.SecretRef.Key}
	case b.ConfigMapRef != nil:
		return &keyRef{configMap: true, namespace: ns, name: b.ConfigMapRef.Name, key: b.ConfigMapRef.Key}
	}
	return nil
}

func clusterCARef(b *mcpv1alpha1.CABundleSource) *keyRef {
	switch {
	case b.SecretRef != nil:
		return &keyRef{namespace: b.SecretRef.Namespace, name: b.SecretRef.Name, key: b.SecretRef.Key}
	case b.ConfigMapRef != nil:
		return &keyRef{configMap: true, namespace: b.ConfigMapRef.Namespace, name: b.ConfigMapRef.Name, key: b.ConfigMapRef.Key}
	}
	return nil
}

func readKey(ctx context.Context, c client.Reader, r keyRef) ([]byte, error) {
	nn := types.NamespacedName{Namespace: r.namespace, Name: r.name}
	var v string
	var ok bool
	if r.configMap {
		cm := &corev1.ConfigMap{}
		if err := c.Get(ctx, nn, cm); err != nil {
			return nil, caError(err, r)
		}
		v, ok = cm.Data[r.key]
		if !ok {
			var b []byte
			b, ok = cm.BinaryData[r.key]
			v = string(b)
		}
	} else {
		s := &corev1.Secret{}
		if err := c.Get(ctx, nn, s); err != nil {
			return nil, caError(err, r)
		}
		var b []byte
		b, ok = s.Data[r.key]
		v = string(b)
	}
	if !ok || strings.TrimSpace(v) == "" {
		return nil, authconfig.Errorf(ReasonCABundleUnavailable, "CA bundle %s is missing or empty", r)
	}
	return []byte(v), nil
}

func caError(err error, r keyRef) error {
	if kerrors.IsNotFound(err) {
		return authconfig.Errorf(ReasonCABundleUnavailable, "CA bundle %s: object not found", r)
	}
	return fmt.Errorf("cannot read CA bundle %s: %w", r, err)
}

func notFoundOr(err error, format string, a ...any) error {
	what := fmt.Sprintf(format, a...)
	if kerrors.IsNotFound(err) {
		return authconfig.Errorf(ReasonProviderConfigNotFound, "%s not found", what)
	}
	return fmt.Errorf("cannot get %s: %w", what, err)
}
