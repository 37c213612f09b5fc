package oauth

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"
)

// DefaultTimeout bounds every request to an authorization server when the
// caller does not choose a timeout.
const DefaultTimeout = 10 * time.Second

const (
	errNoCACerts     = "CA bundle contains no PEM certificate"
	errFmtParseCA    = "cannot parse certificate %d of the CA bundle: %w"
	errFmtProxyURL   = "proxy URL %q is not valid: %w"
	errFmtProxyForm  = "proxy URL %q must be absolute with scheme http, https or socks5 and a host"
	pemTypeCert      = "CERTIFICATE"
	dialTimeout      = 10 * time.Second
	handshakeTimeout = 10 * time.Second
)

// NewHTTPClient builds the HTTP client used for every request to an
// authorization server. TLS is always verified, against the system roots plus
// the certificates in caPEM; TLS 1.2 is the minimum. A timeout of 0 (or less)
// means DefaultTimeout. Redirects are not followed: the redirect response is
// returned as is, because a token endpoint that redirects is misconfigured
// and following it would send the client's credentials elsewhere. Proxy
// environment variables are ignored; proxyURL "" means direct connections.
// Connections go only to the addresses n allows, the proxy's included; behind
// a proxy, a request's host is resolved and checked before it is sent.
func NewHTTPClient(caPEM []byte, timeout time.Duration, proxyURL string, n Networks) (*http.Client, error) {
	pool, err := certPool(caPEM)
	if err != nil {
		return nil, err
	}
	proxy, err := proxyFunc(proxyURL)
	if err != nil {
		return nil, err
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	d := &net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second, Control: guardDial(n)}
	t := &http.Transport{
		Proxy:                 guardProxy(n, proxy),
		DialContext:           d.DialContext,
		TLSClientConfig:       &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   handshakeTimeout,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          10,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{
		Transport: t,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}, nil
}

// certPool returns the system roots plus every certificate in caPEM. A
// non-empty caPEM without a parseable certificate is an error: silently
// ignoring it would turn into a confusing "unknown authority" later.
func certPool(caPEM []byte) (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil {
		// Minimal images may have no system roots; the bundle may be enough.
		pool = x509.NewCertPool()
	}
	if len(caPEM) == 0 {
		return pool, nil
	}
	n := 0
	for rest := caPEM; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != pemTypeCert {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf(errFmtParseCA, n+1, err)
		}
		pool.AddCert(c)
		n++
	}
	if n == 0 {
		return nil, errors.New(errNoCACerts)
	}
	return pool, nil
}

func proxyFunc(raw string) (func(*http.Request) (*url.URL, error), error) {
	if raw == "" {
		return nil, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf(errFmtProxyURL, displayURL(raw), err)
	}
	switch u.Scheme {
	case "http", "https", "socks5", "socks5h":
	default:
		return nil, fmt.Errorf(errFmtProxyForm, displayURL(raw))
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf(errFmtProxyForm, displayURL(raw))
	}
	return http.ProxyURL(u), nil
}
