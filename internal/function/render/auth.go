package render

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	authv1alpha1 "github.com/crossmcp/provider-mcp/apis/auth/v1alpha1"
	platform "github.com/crossmcp/provider-mcp/apis/platform/v1alpha1"
	"github.com/crossmcp/provider-mcp/internal/authconfig"
	"github.com/crossmcp/provider-mcp/internal/oauth"
)

// Reasons an ExternalAuthConfig cannot be used (yet). They are the reasons of
// the XR's ExternalAuthReady condition.
const (
	ReasonConfigNotFound    = "ConfigNotFound"
	ReasonConfigNotReady    = "ConfigNotReady"
	ReasonConfigInvalid     = "ConfigInvalid"
	ReasonConfigUnsupported = "ConfigUnsupported"
)

// A ConfigError says why an ExternalAuthConfig cannot be used, with the
// condition reason to report.
type ConfigError struct {
	Reason  string
	Message string
}

func (e *ConfigError) Error() string { return e.Message }

func configErrorf(reason, format string, a ...any) *ConfigError {
	return &ConfigError{Reason: reason, Message: fmt.Sprintf(format, a...)}
}

// Auth returns the outgoing authentication an observed ExternalAuthConfig
// gives a workload. It returns a *ConfigError while the config cannot be used:
// not Ready, not yet observed at its current generation, of a type the proxy
// runner cannot take from us, or without a connection secret to read the
// client secret from. The settings come from the same object as the hash, so
// the two always describe the same config.
func Auth(c *authv1alpha1.ExternalAuthConfig) (*platform.ExternalAuthStatus, *ConfigError) {
	ready := c.Status.GetCondition(xpv2.TypeReady)
	if ready.Status != corev1.ConditionTrue {
		msg := fmt.Sprintf("ExternalAuthConfig %q is not Ready", c.GetName())
		if ready.Reason != "" {
			msg += fmt.Sprintf(" (%s", ready.Reason)
			if ready.Message != "" {
				msg += ": " + ready.Message
			}
			msg += ")"
		}
		return nil, configErrorf(ReasonConfigNotReady, "%s", msg)
	}
	if g := ready.ObservedGeneration; g != 0 && g < c.GetGeneration() {
		return nil, configErrorf(ReasonConfigNotReady, "ExternalAuthConfig %q: waiting for the provider to observe generation %d", c.GetName(), c.GetGeneration())
	}
	hash := c.Status.AtProvider.ConfigHash
	if hash == "" {
		return nil, configErrorf(ReasonConfigNotReady, "ExternalAuthConfig %q has no configHash yet", c.GetName())
	}
	p := c.Spec.ForProvider
	a := &platform.ExternalAuthStatus{ConfigName: c.GetName(), Type: p.Type, ConfigHash: hash}
	switch p.Type {
	case authv1alpha1.TypeUnauthenticated:
		return a, nil
	case authv1alpha1.TypeTokenExchange:
	default:
		return nil, configErrorf(ReasonConfigUnsupported, "ExternalAuthConfig %q is of type %s: function-mcp-server renders tokenExchange and unauthenticated configs only", c.GetName(), p.Type)
	}
	te := p.TokenExchange
	if te == nil {
		return nil, configErrorf(ReasonConfigInvalid, "ExternalAuthConfig %q of type tokenExchange has no tokenExchange block", c.GetName())
	}
	stt, err := oauth.NormalizeSubjectTokenType(te.SubjectTokenType)
	if err != nil {
		return nil, configErrorf(ReasonConfigInvalid, "ExternalAuthConfig %q: %v", c.GetName(), err)
	}
	a.TokenURL = te.TokenURL
	a.ClientID = te.ClientID
	a.Audience = te.Audience
	a.Scopes = te.Scopes
	a.SubjectTokenType = stt
	a.ExternalTokenHeaderName = te.ExternalTokenHeaderName
	if te.ClientSecretRef != nil {
		ref := c.GetWriteConnectionSecretToReference()
		if ref == nil || ref.Name == "" {
			return nil, configErrorf(ReasonConfigInvalid, "ExternalAuthConfig %q has a client secret but publishes no connection secret: set spec.writeConnectionSecretToRef so the proxy can read it", c.GetName())
		}
		a.ClientSecretRef = &authv1alpha1.SecretKeyRef{Name: ref.Name, Key: authconfig.KeyClientSecret}
	}
	return a, nil
}
