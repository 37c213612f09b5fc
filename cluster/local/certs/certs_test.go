package certs

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/client-go/tools/clientcmd"
)

func read(t *testing.T, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestEnsure: the serving certificate verifies for every name the
// apiserver is reached by, the admin kubeconfig carries the admin token, and
// the token is a system:masters user.
func TestEnsure(t *testing.T) {
	dir := t.TempDir()
	kc := filepath.Join(dir, "kubeconfig")
	ca, err := Ensure(dir, kc, "https://127.0.0.1:6443")
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(read(t, dir, CA))
	b, _ := pem.Decode(read(t, dir, ServingCert))
	cert, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"127.0.0.1", "localhost", "kubernetes.default.svc", "10.0.0.1"} {
		if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, DNSName: name, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
			t.Errorf("serving certificate for %s: %v", name, err)
		}
	}
	token := string(read(t, dir, AdminToken))
	if diff := cmp.Diff(token+",admin,admin,system:masters\n", string(read(t, dir, TokenAuthFile))); diff != "" {
		t.Errorf("%s: -want, +got:\n%s", TokenAuthFile, diff)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kc)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.BearerToken != token || cfg.Host != "https://127.0.0.1:6443" || string(cfg.CAData) != string(ca.PEM) {
		t.Errorf("kubeconfig: host %s, token matches %t, CA matches %t", cfg.Host, cfg.BearerToken == token, string(cfg.CAData) == string(ca.PEM))
	}
	if !strings.Contains(string(read(t, dir, SAKey)), "EC PRIVATE KEY") || !strings.Contains(string(read(t, dir, SAPublic)), "PUBLIC KEY") {
		t.Error("no ServiceAccount signing key pair")
	}
}

// TestEnsureKeeps: a restarted plane keeps its CA and admin token, so the
// kubeconfigs it handed out stay valid.
func TestEnsureKeeps(t *testing.T) {
	dir := t.TempDir()
	kc := filepath.Join(dir, "kubeconfig")
	first, err := Ensure(dir, kc, "https://127.0.0.1:6443")
	if err != nil {
		t.Fatal(err)
	}
	token := read(t, dir, AdminToken)
	again, err := Ensure(dir, kc, "https://127.0.0.1:6443")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(first.PEM, again.PEM); diff != "" {
		t.Errorf("CA changed on restart: -first, +again:\n%s", diff)
	}
	if diff := cmp.Diff(token, read(t, dir, AdminToken)); diff != "" {
		t.Errorf("admin token changed on restart: -first, +again:\n%s", diff)
	}
}
