// Package certs writes, once, what the plane's apiserver and its admin need:
// a CA, the apiserver's serving certificate, a ServiceAccount signing key, an
// admin token in the system:masters group and a kubeconfig using it. A
// restarted plane keeps them, so kubeconfigs handed out stay valid.
package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/crossmcp/provider-mcp/test/pki"
)

// validFor is how long the CA and the serving certificate are valid.
const validFor = 365 * 24 * time.Hour

// The files Ensure writes into its folder.
const (
	CA            = "ca.crt"
	caKey         = "ca.key"
	ServingCert   = "apiserver.crt"
	ServingKey    = "apiserver.key"
	SAKey         = "sa.key"
	SAPublic      = "sa.pub"
	AdminToken    = "admin.token"
	TokenAuthFile = "tokens.csv"
)

// Ensure writes the files into dir and the admin kubeconfig for server to
// kubeconfig, unless a kubeconfig and the CA are there already. It returns
// the CA.
func Ensure(dir, kubeconfig, server string) (*pki.CA, error) {
	if _, err := os.Stat(kubeconfig); err == nil {
		caPEM, err1 := os.ReadFile(filepath.Join(dir, CA))
		keyPEM, err2 := os.ReadFile(filepath.Join(dir, caKey))
		if err := errors.Join(err1, err2); err == nil {
			return pki.LoadCA(caPEM, keyPEM)
		}
	}
	ca, err := pki.NewCA("provider-mcp local control plane CA", validFor)
	if err != nil {
		return nil, err
	}
	files, token, err := issue(ca)
	if err != nil {
		return nil, err
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			return nil, err
		}
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["local"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: ca.PEM}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["local"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: "admin", Namespace: "default"}
	cfg.CurrentContext = "local"
	return ca, clientcmd.WriteToFile(*cfg, kubeconfig)
}

// issue makes the files' contents and the admin token.
func issue(ca *pki.CA) (map[string][]byte, string, error) {
	serving, err := ca.Issue(pki.Leaf{
		CommonName: "kube-apiserver", Server: true, ValidFor: validFor,
		DNSNames: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
		// The first address of the service range, the kubernetes Service's.
		IPs: append(pki.Loopback, net.IPv4(10, 0, 0, 1)),
	})
	if err != nil {
		return nil, "", err
	}
	saKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, "", err
	}
	saDER, err := x509.MarshalECPrivateKey(saKey)
	if err != nil {
		return nil, "", err
	}
	saPub, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		return nil, "", err
	}
	tok := make([]byte, 24)
	if _, err := io.ReadFull(rand.Reader, tok); err != nil {
		return nil, "", err
	}
	token := hex.EncodeToString(tok)
	return map[string][]byte{
		CA:            ca.PEM,
		caKey:         ca.KeyPEM,
		ServingCert:   serving.CertPEM,
		ServingKey:    serving.KeyPEM,
		SAKey:         pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: saDER}),
		SAPublic:      pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: saPub}),
		AdminToken:    []byte(token),
		TokenAuthFile: []byte(token + ",admin,admin,system:masters\n"),
	}, token, nil
}
