package oauth

import (
	"crypto/tls"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestNewHTTPClient(t *testing.T) {
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	defer srv.Close()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	key := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("not a key")})
	bad := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("not a certificate")})

	type args struct {
		caPEM    []byte
		timeout  time.Duration
		proxyURL string
	}
	type want struct {
		timeout time.Duration
		proxy   string
		err     string
	}
	cases := map[string]struct {
		reason string
		args   args
		want   want
	}{
		"Defaults": {
			reason: "No CA, no timeout and no proxy give system roots, 10s and direct connections.",
			args:   args{},
			want:   want{timeout: 10 * time.Second},
		},
		"CAAndTimeout": {
			reason: "A CA bundle, with other PEM blocks ignored, and a timeout are used.",
			args:   args{caPEM: append(append([]byte{}, key...), ca...), timeout: 3 * time.Second},
			want:   want{timeout: 3 * time.Second},
		},
		"NegativeTimeout": {
			reason: "A negative timeout means the default.",
			args:   args{timeout: -time.Second},
			want:   want{timeout: 10 * time.Second},
		},
		"Proxy": {
			reason: "A proxy URL is used for every request.",
			args:   args{proxyURL: "http://proxy.example.com:3128"},
			want:   want{timeout: 10 * time.Second, proxy: "http://proxy.example.com:3128"},
		},
		"GarbageCA": {
			reason: "A CA bundle without certificates is an error.",
			args:   args{caPEM: []byte("garbage")},
			want:   want{err: "CA bundle contains no PEM certificate"},
		},
		"OnlyKey": {
			reason: "A CA bundle with only non-certificate blocks is an error.",
			args:   args{caPEM: key},
			want:   want{err: "CA bundle contains no PEM certificate"},
		},
		"BadCertificate": {
			reason: "A certificate block that does not parse is an error naming it.",
			args:   args{caPEM: append(append([]byte{}, ca...), bad...)},
			want:   want{err: "cannot parse certificate 2 of the CA bundle: x509: malformed certificate"},
		},
		"UnparseableProxy": {
			reason: "A proxy URL that does not parse is an error, without its password.",
			args:   args{proxyURL: "http://u:pw d@proxy:3128"},
			want:   want{err: `proxy URL "http://xxxxx@proxy:3128" is not valid: net/url: invalid userinfo`},
		},
		"ProxyScheme": {
			reason: "A proxy URL with another scheme is an error, without its password.",
			args:   args{proxyURL: "ftp://u:pwd@proxy:3128"},
			want:   want{err: `proxy URL "ftp://u:xxxxx@proxy:3128" must be absolute with scheme http, https or socks5 and a host`},
		},
		"ProxyNoHost": {
			reason: "A proxy URL without host is an error.",
			args:   args{proxyURL: "http:///x"},
			want:   want{err: `proxy URL "http:///x" must be absolute with scheme http, https or socks5 and a host`},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c, err := NewHTTPClient(tc.args.caPEM, tc.args.timeout, tc.args.proxyURL, PrivateAllowed)
			got := want{err: errString(err)}
			if c != nil {
				got.timeout = c.Timeout
				tr := c.Transport.(*http.Transport)
				if tr.Proxy != nil {
					req, _ := http.NewRequest(http.MethodGet, "https://auth.example.com/", nil)
					p, _ := tr.Proxy(req)
					got.proxy = p.String()
				}
				if tr.TLSClientConfig.MinVersion != tls.VersionTLS12 || tr.TLSClientConfig.InsecureSkipVerify {
					t.Errorf("%s: TLS config must verify and require TLS 1.2", tc.reason)
				}
				if !errors.Is(c.CheckRedirect(nil, nil), http.ErrUseLastResponse) {
					t.Errorf("%s: redirects must not be followed", tc.reason)
				}
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("\n%s\nNewHTTPClient(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

// TestNewHTTPClientIgnoresProxyEnvironment guards against a proxy from the
// environment silently receiving client credentials.
func TestNewHTTPClientIgnoresProxyEnvironment(t *testing.T) {
	t.Setenv("HTTPS_PROXY", "http://127.0.0.1:1")
	t.Setenv("HTTP_PROXY", "http://127.0.0.1:1")
	srv, ca := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok"))
	}))
	v := newVerifier(t, ca)
	resp, err := v.HTTP.Get(srv.URL)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("status: want 200, got %d", resp.StatusCode)
	}
}

func TestNewHTTPClientDoesNotFollowRedirects(t *testing.T) {
	srv, ca := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/elsewhere" {
			t.Errorf("the redirect was followed")
		}
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	}))
	v := newVerifier(t, ca)
	resp, err := v.HTTP.Post(srv.URL+"/token", mediaForm, strings.NewReader("a=b"))
	if err != nil {
		t.Fatalf("Post: %v", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Errorf("status: want 302, got %d", resp.StatusCode)
	}
}
