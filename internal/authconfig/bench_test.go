package authconfig

import (
	"testing"

	"github.com/crossmcp/provider-mcp/apis/auth/v1alpha1"
)

// BenchmarkHash measures what every Observe of a config computes: its
// connection details and their hash.
func BenchmarkHash(b *testing.B) {
	headerRef := v1alpha1.SecretKeyRef{Name: "api", Key: "token"}
	cases := map[string]struct {
		p v1alpha1.ExternalAuthConfigParameters
		v Values
	}{
		"TokenExchange": {
			p: tokenExchange(),
			v: Values{secretRef: []byte("s3cr3t-value")},
		},
		"HeaderInjection": {
			p: v1alpha1.ExternalAuthConfigParameters{
				Type:            v1alpha1.TypeHeaderInjection,
				HeaderInjection: &v1alpha1.HeaderInjectionConfig{HeaderName: "X-API-Key", ValueSecretRef: headerRef},
			},
			v: Values{headerRef: []byte("s3cr3t-value")},
		},
	}
	for name, tc := range cases {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				d := Details(tc.p, tc.v)
				if Hash(d, testKey, "0b4d5e6f-uid") == "" {
					b.Fatal("Hash(...) is empty")
				}
			}
		})
	}
}
