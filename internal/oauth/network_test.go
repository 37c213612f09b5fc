package oauth

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPrivateAddress(t *testing.T) {
	cases := map[string]bool{
		"127.0.0.1": true, "::1": true, "::ffff:127.0.0.1": true, // loopback, also IPv4-mapped
		"169.254.169.254": true, "fe80::1": true, // link-local: cloud metadata
		"10.0.0.1": true, "172.16.0.1": true, "192.168.1.1": true, "fc00::1": true, // private
		"100.100.100.200": true, // shared address space: a cloud's metadata
		"0.0.0.0":         true, "::": true, "224.0.0.1": true, "ff02::1": true,
		"8.8.8.8": false, "1.1.1.1": false, "2001:4860:4860::8888": false, "172.32.0.1": false,
	}
	for addr, want := range cases {
		if got := PrivateAddress(netip.MustParseAddr(addr)); got != want {
			t.Errorf("PrivateAddress(%s) = %t, want %t", addr, got, want)
		}
	}
}

// TestPublicOnlyRefusesAtDial: a tenant's URL pointing at what only the
// cluster reaches (here a loopback server) is refused before any byte is
// sent; allowing private networks lets it through.
func TestPublicOnlyRefusesAtDial(t *testing.T) {
	hits := 0
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits++ }))
	defer srv.Close()
	for n, want := range map[Networks]bool{PublicOnly: false, PrivateAllowed: true} {
		c, err := NewHTTPClient(nil, 0, "", n)
		if err != nil {
			t.Fatal(err)
		}
		before := hits
		resp, err := c.Get(srv.URL)
		if err == nil {
			_ = resp.Body.Close()
		}
		var pae *PrivateAddressError
		if got := err == nil; got != want || (!want && !errors.As(err, &pae)) || (hits > before) != want {
			t.Errorf("Networks %d: GET %s: err %v, %d requests served; want served %t", n, srv.URL, err, hits-before, want)
		}
	}
}

// TestPublicOnlyBehindProxy: behind a proxy the provider dials only the
// proxy, so a request's host is resolved and checked first.
func TestPublicOnlyBehindProxy(t *testing.T) {
	proxyURL, _ := url.Parse("http://proxy.example.com:3128")
	guarded := guardProxy(PublicOnly, http.ProxyURL(proxyURL))
	cases := map[string]string{
		"http://127.0.0.1/token":                "127.0.0.1 is a loopback, link-local or private address",
		"http://169.254.169.254/latest/meta":    "169.254.169.254 is a loopback, link-local or private address",
		"http://localhost:8080/token":           "localhost (",
		"https://8.8.8.8/token":                 "",
		"http://[::ffff:10.0.0.1]/token":        "(10.0.0.1) is a loopback",
		"http://[fd00::1]:8443/oauth2/v2/token": "fd00::1 is a loopback",
	}
	for raw, want := range cases {
		req, err := http.NewRequest(http.MethodPost, raw, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := guarded(req)
		if want == "" {
			if err != nil || got.String() != proxyURL.String() {
				t.Errorf("%s: proxy %v, err %v; want the proxy", raw, got, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err %v, want one containing %q", raw, err, want)
		}
	}
	if diff := cmp.Diff(true, guardProxy(PrivateAllowed, nil) == nil); diff != "" {
		t.Errorf("no proxy stays no proxy: %s", diff)
	}
}
