package v1alpha1

import (
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
)

// The managed-resource method set; written by hand because the generator has
// no version for these types on our module proxy.
var _ resource.ModernManaged = &ExternalAuthConfig{}

// GetCondition of this ExternalAuthConfig.
func (mg *ExternalAuthConfig) GetCondition(ct xpv2.ConditionType) xpv2.Condition {
	return mg.Status.GetCondition(ct)
}

// SetConditions of this ExternalAuthConfig.
func (mg *ExternalAuthConfig) SetConditions(c ...xpv2.Condition) { mg.Status.SetConditions(c...) }

// GetManagementPolicies of this ExternalAuthConfig.
func (mg *ExternalAuthConfig) GetManagementPolicies() xpv2.ManagementPolicies {
	return mg.Spec.ManagementPolicies
}

// SetManagementPolicies of this ExternalAuthConfig.
func (mg *ExternalAuthConfig) SetManagementPolicies(p xpv2.ManagementPolicies) {
	mg.Spec.ManagementPolicies = p
}

// GetProviderConfigReference of this ExternalAuthConfig.
func (mg *ExternalAuthConfig) GetProviderConfigReference() *xpv2.ProviderConfigReference {
	return mg.Spec.ProviderConfigReference
}

// SetProviderConfigReference of this ExternalAuthConfig.
func (mg *ExternalAuthConfig) SetProviderConfigReference(r *xpv2.ProviderConfigReference) {
	mg.Spec.ProviderConfigReference = r
}

// GetWriteConnectionSecretToReference of this ExternalAuthConfig.
func (mg *ExternalAuthConfig) GetWriteConnectionSecretToReference() *xpv2.LocalSecretReference {
	return mg.Spec.WriteConnectionSecretToReference
}

// SetWriteConnectionSecretToReference of this ExternalAuthConfig.
func (mg *ExternalAuthConfig) SetWriteConnectionSecretToReference(r *xpv2.LocalSecretReference) {
	mg.Spec.WriteConnectionSecretToReference = r
}

// GetItems of this ExternalAuthConfigList.
func (l *ExternalAuthConfigList) GetItems() []resource.Managed {
	items := make([]resource.Managed, len(l.Items))
	for i := range l.Items {
		items[i] = &l.Items[i]
	}
	return items
}
