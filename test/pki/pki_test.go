package pki

import (
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"
)

func TestIssueVerifiesAgainstCA(t *testing.T) {
	ca, err := NewCA("test CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ca.Issue(Leaf{CommonName: "svc", DNSNames: []string{"svc.ns.svc"}, IPs: Loopback, Server: true, Client: true, ValidFor: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.TLS(); err != nil {
		t.Fatalf("the pair does not load: %v", err)
	}
	b, _ := pem.Decode(p.CertPEM)
	cert, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	for _, o := range []x509.VerifyOptions{
		{Roots: roots, DNSName: "svc.ns.svc", KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}},
		{Roots: roots, DNSName: "127.0.0.1", KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}},
	} {
		if _, err := cert.Verify(o); err != nil {
			t.Errorf("Verify(%s): %v", o.DNSName, err)
		}
	}
}

func TestLoadCA(t *testing.T) {
	ca, err := NewCA("test CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadCA(ca.PEM, ca.KeyPEM)
	if err != nil {
		t.Fatalf("LoadCA of a CA: %v", err)
	}
	if !loaded.Cert.Equal(ca.Cert) {
		t.Error("LoadCA returned another certificate")
	}
	if _, err := loaded.Issue(Leaf{CommonName: "x", Server: true, ValidFor: time.Hour}); err != nil {
		t.Errorf("a loaded CA cannot issue: %v", err)
	}
	leaf, _ := ca.Issue(Leaf{CommonName: "leaf", Server: true, ValidFor: time.Hour})
	if _, err := LoadCA(leaf.CertPEM, leaf.KeyPEM); err == nil {
		t.Error("LoadCA of a leaf certificate: want an error")
	}
	if _, err := LoadCA([]byte("junk"), nil); err == nil {
		t.Error("LoadCA of junk: want an error")
	}
}
