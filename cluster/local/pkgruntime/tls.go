package pkgruntime

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossmcp/provider-mcp/test/pki"
)

// tlsServerSecret makes sure the package's TLS server secret exists, signed
// by Crossplane's root CA for 127.0.0.1 (core dials the function there and
// checks the IP SAN).
func (r *Runtime) tlsServerSecret(ctx context.Context, name string) error {
	s := &corev1.Secret{}
	err := r.Kube.Get(ctx, client.ObjectKey{Namespace: r.Namespace, Name: name}, s)
	if err != nil && !kerrors.IsNotFound(err) {
		return err
	}
	if ServesLoopback(s.Data["tls.crt"], time.Now()) {
		return nil
	}
	root := &corev1.Secret{}
	if err := r.Kube.Get(ctx, client.ObjectKey{Namespace: r.Namespace, Name: r.RootCASecret}, root); err != nil {
		return fmt.Errorf("cannot read Crossplane's root CA: %w", err)
	}
	ca, err := pki.LoadCA(root.Data["tls.crt"], root.Data["tls.key"])
	if err != nil {
		return err
	}
	pair, err := ca.Issue(pki.Leaf{CommonName: name, IPs: pki.Loopback, DNSNames: []string{"localhost"}, Server: true, Client: true, ValidFor: 365 * 24 * time.Hour})
	if err != nil {
		return err
	}
	s.Name, s.Namespace = name, r.Namespace
	s.Type = corev1.SecretTypeTLS
	s.Data = map[string][]byte{"tls.crt": pair.CertPEM, "tls.key": pair.KeyPEM, "ca.crt": ca.PEM}
	if s.ResourceVersion == "" {
		err = r.Kube.Create(ctx, s)
	} else {
		err = r.Kube.Update(ctx, s)
	}
	if err != nil {
		return fmt.Errorf("cannot write TLS secret %s: %w", name, err)
	}
	return nil
}

// ServesLoopback reports whether a PEM certificate is valid for 127.0.0.1
// at now.
func ServesLoopback(certPEM []byte, now time.Time) bool {
	b, _ := pem.Decode(certPEM)
	if b == nil {
		return false
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return false
	}
	return c.VerifyHostname("127.0.0.1") == nil && now.Before(c.NotAfter)
}

// SecretToDir writes a TLS secret's ca.crt, tls.crt and tls.key to dir, as
// a pod would see it mounted.
func SecretToDir(ctx context.Context, kube client.Client, namespace, name, dir string) error {
	s := &corev1.Secret{}
	if err := kube.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, s); err != nil {
		return fmt.Errorf("cannot read secret %s: %w", name, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for _, k := range []string{"ca.crt", "tls.crt", "tls.key"} {
		if err := os.WriteFile(filepath.Join(dir, k), s.Data[k], 0o600); err != nil {
			return err
		}
	}
	return nil
}
