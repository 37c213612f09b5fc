package authserver

import (
	"crypto/tls"
	"time"

	"github.com/crossmcp/provider-mcp/test/pki"
)

// newTLS creates a server certificate for 127.0.0.1 signed by ca, or by a
// throw-away CA when ca is nil. It returns the certificate (with the CA in
// its chain) and the CA's PEM.
func newTLS(ca *pki.CA) (tls.Certificate, []byte, error) {
	if ca == nil {
		var err error
		if ca, err = pki.NewCA("authserver test CA", 24*time.Hour); err != nil {
			return tls.Certificate{}, nil, err
		}
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
