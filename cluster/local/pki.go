package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net"
	"os"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/crossmcp/provider-mcp/internal/pki"
)

// auditPolicy records every write at metadata level and no reads, so tests
// can count what the controllers write.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: None
  verbs: [get, list, watch]
- level: None
  resources: [{group: coordination.k8s.io, resources: [leases]}]
- level: Metadata
`

// pki writes what the apiserver and its clients need, once: a CA, the
// apiserver's serving certificate, a service account signing key, an admin
// token in the system:masters group and a kubeconfig using it. A restarted
// plane keeps them, so kubeconfigs handed out stay valid.
func (pl *plane) pki() error {
	f := pl.certFile
	if _, err := os.Stat(pl.p.Kubeconfig()); err == nil {
		caPEM, err1 := os.ReadFile(f("ca.crt"))
		keyPEM, err2 := os.ReadFile(f("ca.key"))
		if err := errors.Join(err1, err2); err == nil {
			pl.ca, err = pki.LoadCA(caPEM, keyPEM)
			return err
		}
	}
	ca, err := pki.NewCA("provider-mcp local control plane CA", 365*24*time.Hour)
	if err != nil {
		return err
	}
	pl.ca = ca
	serving, err := ca.Issue(pki.Leaf{
		CommonName: "kube-apiserver", Server: true, ValidFor: 365 * 24 * time.Hour,
		DNSNames: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
		IPs:      append(pki.Loopback, net.IPv4(10, 0, 0, 1)),
	})
	if err != nil {
		return err
	}
	saKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	saDER, err := x509.MarshalECPrivateKey(saKey)
	if err != nil {
		return err
	}
	saPub, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		return err
	}
	tok := make([]byte, 24)
	if _, err := io.ReadFull(rand.Reader, tok); err != nil {
		return err
	}
	token := hex.EncodeToString(tok)
	files := map[string][]byte{
		"ca.crt":            ca.PEM,
		"ca.key":            ca.KeyPEM,
		"apiserver.crt":     serving.CertPEM,
		"apiserver.key":     serving.KeyPEM,
		"sa.key":            pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: saDER}),
		"sa.pub":            pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: saPub}),
		"admin.token":       []byte(token),
		"tokens.csv":        []byte(token + ",admin,admin,system:masters\n"),
		"audit-policy.yaml": []byte(auditPolicy),
	}
	for name, b := range files {
		if err := os.WriteFile(f(name), b, 0o600); err != nil {
			return err
		}
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["local"] = &clientcmdapi.Cluster{Server: apiserverURL, CertificateAuthorityData: ca.PEM}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["local"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: "admin", Namespace: "default"}
	cfg.CurrentContext = "local"
	return clientcmd.WriteToFile(*cfg, pl.p.Kubeconfig())
}

func newLogger(w io.Writer) *log.Logger { return log.New(w, "", log.LstdFlags) }
