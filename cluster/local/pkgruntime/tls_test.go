package pkgruntime

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/crossmcp/provider-mcp/cluster/local/kclient"
	"github.com/crossmcp/provider-mcp/test/pki"
)

func TestServesLoopback(t *testing.T) {
	ca, err := pki.NewCA("test-ca", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	issue := func(l pki.Leaf) []byte {
		p, err := ca.Issue(l)
		if err != nil {
			t.Fatal(err)
		}
		return p.CertPEM
	}
	now := time.Now()
	cases := map[string]struct {
		reason string
		cert   []byte
		at     time.Time
		want   bool
	}{
		"Loopback": {reason: "A current certificate for 127.0.0.1 serves.", cert: issue(pki.Leaf{CommonName: "x", IPs: pki.Loopback, Server: true, ValidFor: time.Hour}), at: now, want: true},
		"OtherIP":  {reason: "A certificate for another address does not.", cert: issue(pki.Leaf{CommonName: "x", IPs: []net.IP{net.ParseIP("10.0.0.1")}, Server: true, ValidFor: time.Hour}), at: now},
		"DNSOnly":  {reason: "Core checks the IP SAN: a name alone does not serve.", cert: issue(pki.Leaf{CommonName: "x", DNSNames: []string{"localhost"}, Server: true, ValidFor: time.Hour}), at: now},
		"Expired":  {reason: "An expired certificate is replaced.", cert: issue(pki.Leaf{CommonName: "x", IPs: pki.Loopback, Server: true, ValidFor: time.Hour}), at: now.Add(2 * time.Hour)},
		"Empty":    {reason: "A secret without a certificate is written.", at: now},
		"NotPEM":   {reason: "Garbage is replaced.", cert: []byte("not a certificate"), at: now},
		"NotX509":  {reason: "A PEM block that is no certificate is replaced.", cert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1, 2, 3}}), at: now},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := ServesLoopback(tc.cert, tc.at); got != tc.want {
				t.Errorf("%s\nServesLoopback(...) = %t, want %t", tc.reason, got, tc.want)
			}
		})
	}
}

// TestTLSServerSecret: a package's TLS server secret is issued by
// Crossplane's root CA for 127.0.0.1, and kept while it serves.
func TestTLSServerSecret(t *testing.T) {
	ca, err := pki.NewCA("crossplane-root-ca", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	root := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "root-ca", Namespace: "crossplane-system"},
		Data: map[string][]byte{"tls.crt": ca.PEM, "tls.key": ca.KeyPEM}}
	kube := fake.NewClientBuilder().WithScheme(kclient.Scheme()).WithObjects(root).Build()
	r := &Runtime{Kube: kube, Namespace: "crossplane-system", RootCASecret: "root-ca"}
	ctx := context.Background()
	if err := r.tlsServerSecret(ctx, "function-tls-server"); err != nil {
		t.Fatal(err)
	}
	s := &corev1.Secret{}
	if err := kube.Get(ctx, client.ObjectKey{Namespace: "crossplane-system", Name: "function-tls-server"}, s); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ca.PEM, s.Data["ca.crt"]); diff != "" {
		t.Errorf("ca.crt: -want, +got:\n%s", diff)
	}
	b, _ := pem.Decode(s.Data["tls.crt"])
	if b == nil {
		t.Fatal("tls.crt is no PEM")
	}
	cert, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.PEM)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, DNSName: "127.0.0.1"}); err != nil {
		t.Errorf("the server certificate does not verify for 127.0.0.1 against the root CA: %v", err)
	}
	rv := s.ResourceVersion
	if err := r.tlsServerSecret(ctx, "function-tls-server"); err != nil {
		t.Fatal(err)
	}
	if err := kube.Get(ctx, client.ObjectKeyFromObject(s), s); err != nil {
		t.Fatal(err)
	}
	if s.ResourceVersion != rv {
		t.Errorf("a secret that serves was rewritten (resourceVersion %s -> %s)", rv, s.ResourceVersion)
	}
}
