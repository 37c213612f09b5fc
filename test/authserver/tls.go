package authserver

import (
	"crypto/tls"
	"time"

	"github.com/crossmcp/provider-mcp/internal/pki"
)

// newTLS creates a throw-away CA and a server certificate for 127.0.0.1
// signed by it. It returns the certificate (with the CA in its chain) and the
// CA's PEM.
func newTLS() (tls.Certificate, []byte, error) {
	ca, err := pki.NewCA("authserver test CA", 24*time.Hour)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	p, err := ca.Issue(pki.Leaf{CommonName: "127.0.0.1", IPs: pki.Loopback, Server: true, ValidFor: 24 * time.Hour})
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	cert, err := p.TLS()
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	cert.Certificate = append(cert.Certificate, ca.Cert.Raw)
	return cert, ca.PEM, nil
}
