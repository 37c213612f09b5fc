package oauth

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
)

// Networks says which addresses the provider may connect to.
type Networks int

const (
	// PublicOnly refuses loopback, link-local (cloud metadata), private,
	// shared (CGNAT), unspecified and multicast addresses: a tenant's URL must
	// not make the provider probe what only the cluster can reach.
	PublicOnly Networks = iota
	// PrivateAllowed allows every address, for authorization servers inside
	// the cluster or the company network. A platform decision.
	PrivateAllowed
)

// sharedAddressSpace is RFC 6598's 100.64.0.0/10, where some clouds serve
// instance metadata.
var sharedAddressSpace = netip.MustParsePrefix("100.64.0.0/10")

// PrivateAddress reports whether a is an address PublicOnly refuses.
func PrivateAddress(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() || sharedAddressSpace.Contains(a)
}

// A PrivateAddressError is a connection refused before it was made: to a
// private address, with private networks not allowed.
type PrivateAddressError struct {
	Host string // the host as named, when known
	Addr netip.Addr
}

func (e *PrivateAddressError) Error() string {
	what := e.Addr.String()
	if e.Host != "" && e.Host != what {
		what = fmt.Sprintf("%s (%s)", e.Host, e.Addr)
	}
	return fmt.Sprintf("%s is a loopback, link-local or private address: the provider connects to such addresses only for a ClusterProviderConfig with allowPrivateNetworks: true", what)
}

// guardDial refuses, at connect time, what n does not allow: checked on the
// address really dialled, so no DNS answer can slip a private one in.
func guardDial(n Networks) func(network, address string, _ syscall.RawConn) error {
	if n == PrivateAllowed {
		return nil
	}
	return func(_, address string, _ syscall.RawConn) error {
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return err
		}
		a, err := netip.ParseAddr(host)
		if err != nil {
			return err
		}
		if PrivateAddress(a) {
			return &PrivateAddressError{Addr: a.Unmap()}
		}
		return nil
	}
}

// guardProxy refuses requests whose host resolves to an address n does not
// allow before handing them to proxy: behind a proxy the provider dials
// only the proxy, which resolves the host itself.
func guardProxy(n Networks, proxy func(*http.Request) (*url.URL, error)) func(*http.Request) (*url.URL, error) {
	if proxy == nil || n == PrivateAllowed {
		return proxy
	}
	return func(r *http.Request) (*url.URL, error) {
		if err := checkHost(r.Context(), r.URL.Hostname()); err != nil {
			return nil, err
		}
		return proxy(r)
	}
}

func checkHost(ctx context.Context, host string) error {
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return err
	}
	for _, a := range addrs {
		if PrivateAddress(a) {
			return &PrivateAddressError{Host: host, Addr: a.Unmap()}
		}
	}
	return nil
}
