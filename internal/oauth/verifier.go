package oauth

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"
)

const (
	errDiscover      = "cannot discover authorization server metadata"
	errNilIssuer     = "no issuer URL given"
	headerAccept     = "Accept"
	headerCT         = "Content-Type"
	headerLocation   = "Location"
	mediaJSON        = "application/json"
	mediaForm        = "application/x-www-form-urlencoded"
	msgFmtNotSent    = "The probe was not sent: %s."
	msgFmtNoAnswer   = "The token endpoint could not be reached: %s."
	msgFmtNoBody     = "The token endpoint's response could not be read: %s."
	msgFmtRedirectTo = "The token endpoint answered with a redirect (HTTP %d to %q), which is not followed: configure the final token endpoint URL."
)

// A Verifier talks to authorization servers over one *http.Client, normally
// one built by NewHTTPClient. A nil HTTP uses NewHTTPClient's defaults.
type Verifier struct{ HTTP *http.Client }

// defaultClient is only used when a Verifier has no client; it never fails
// because it has neither a CA bundle nor a proxy to parse.
var defaultClient = sync.OnceValue(func() *http.Client {
	c, _ := NewHTTPClient(nil, 0, "", PublicOnly)
	return c
})

func (v *Verifier) client() *http.Client {
	if v == nil || v.HTTP == nil {
		return defaultClient()
	}
	return v.HTTP
}

// Discover fetches metadata for the issuer, trying DiscoveryURLs in order.
// Any answer but a 200 with a valid document for this issuer moves on to the
// next URL. It returns the first valid document and the URL it came from.
// When all fail, the error lists what each URL answered.
func (v *Verifier) Discover(ctx context.Context, issuer *url.URL) (*Metadata, string, error) {
	if issuer == nil {
		return nil, "", errors.New(errNilIssuer)
	}
	expected := issuer.String()
	urls := DiscoveryURLs(issuer)
	tried := make([]string, 0, len(urls))
	for _, u := range urls {
		if err := ctx.Err(); err != nil {
			return nil, "", fmt.Errorf("%s: %w", errDiscover, err)
		}
		m, why, err := v.fetchMetadata(ctx, u, expected)
		if m != nil {
			return m, u, nil
		}
		var pae *PrivateAddressError
		if errors.As(err, &pae) {
			// Every URL is on the same host: the others would be refused too.
			return nil, "", fmt.Errorf("%s: %w", errDiscover, pae)
		}
		tried = append(tried, displayURL(u)+": "+why)
	}
	return nil, "", fmt.Errorf("%s: %s", errDiscover, strings.Join(tried, "; "))
}

// fetchMetadata returns the document at u, or why there is none, with the
// transport error when there was one.
func (v *Verifier) fetchMetadata(ctx context.Context, u, expectedIssuer string) (*Metadata, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, "not a valid URL", nil
	}
	req.Header.Set(headerAccept, mediaJSON)
	resp, err := v.client().Do(req)
	if err != nil {
		return nil, describeTransportError(err), err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		if loc := resp.Header.Get(headerLocation); loc != "" && resp.StatusCode >= 300 && resp.StatusCode < 400 {
			return nil, fmt.Sprintf("HTTP %d (redirect to %q not followed)", resp.StatusCode, displayURL(loc)), nil
		}
		return nil, fmt.Sprintf("HTTP %d", resp.StatusCode), nil
	}
	// One byte more than allowed, so ParseMetadata can tell it is too large.
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxMetadataBytes+1))
	if err != nil {
		return nil, "reading the response: " + describeTransportError(err), err
	}
	m, err := ParseMetadata(body, expectedIssuer)
	if err != nil {
		return nil, err.Error(), nil
	}
	return m, "", nil
}

// Probe sends an RFC 8693 token exchange request with ProbeSubjectToken as
// subject token and classifies the answer with ClassifyResponse. The client
// authenticates with client_secret_basic (RFC 6749 §2.3.1: id and secret
// form-urlencoded, then HTTP Basic) when both id and secret are set; with
// only an id, client_id goes in the form, as for a public client. A probe
// that cannot be sent (bad subject token type or URL) is reported as
// OutcomeUnreachable with status 0: validate inputs first to tell them apart.
// The secret is redacted from the result even if the server echoes it.
func (v *Verifier) Probe(ctx context.Context, r ProbeRequest) ProbeResult {
	redact := newRedactor(r.ClientID, r.ClientSecret)
	res := v.probe(ctx, r, redact)
	res.ErrorCode = redact(res.ErrorCode)
	res.Message = redact(res.Message)
	return res
}

func (v *Verifier) probe(ctx context.Context, r ProbeRequest, redact func(string) string) ProbeResult {
	tokenType, err := NormalizeSubjectTokenType(r.SubjectTokenType)
	if err != nil {
		return ProbeResult{Outcome: OutcomeUnreachable, Message: fmt.Sprintf(msgFmtNotSent, err)}
	}
	form := url.Values{}
	form.Set("grant_type", GrantTypeTokenExchange)
	form.Set("subject_token", ProbeSubjectToken)
	form.Set("subject_token_type", tokenType)
	form.Set("requested_token_type", TokenTypeAccessToken)
	if r.Audience != "" {
		form.Set("audience", r.Audience)
	}
	if s := joinScopes(r.Scopes); s != "" {
		form.Set("scope", s)
	}
	if r.ClientID != "" && r.ClientSecret == "" {
		form.Set("client_id", r.ClientID)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return ProbeResult{Outcome: OutcomeUnreachable, Message: fmt.Sprintf(msgFmtNotSent, fmt.Sprintf("token URL %q is not valid", displayURL(r.TokenURL)))}
	}
	req.Header.Set(headerCT, mediaForm)
	req.Header.Set(headerAccept, mediaJSON)
	if r.ClientID != "" && r.ClientSecret != "" {
		req.SetBasicAuth(url.QueryEscape(r.ClientID), url.QueryEscape(r.ClientSecret))
	}

	resp, err := v.client().Do(req)
	var pae *PrivateAddressError
	if errors.As(err, &pae) {
		return ProbeResult{Outcome: OutcomeAddressNotAllowed, Message: fmt.Sprintf(msgFmtNotSent, pae.Error())}
	}
	if err != nil {
		return ProbeResult{Outcome: OutcomeUnreachable, Message: fmt.Sprintf(msgFmtNoAnswer, describeTransportError(err))}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes))
	if err != nil {
		return ProbeResult{Outcome: OutcomeUnreachable, Message: fmt.Sprintf(msgFmtNoBody, describeTransportError(err))}
	}
	res := classify(resp.StatusCode, body, redact)
	if loc := resp.Header.Get(headerLocation); loc != "" && resp.StatusCode >= 300 && resp.StatusCode < 400 {
		res.Message = fmt.Sprintf(msgFmtRedirectTo, resp.StatusCode, displayURL(redact(loc)))
	}
	return res
}

// joinScopes space-joins the non-empty scopes (RFC 6749 §3.3).
func joinScopes(scopes []string) string {
	s := make([]string, 0, len(scopes))
	for _, sc := range scopes {
		if sc = strings.TrimSpace(sc); sc != "" {
			s = append(s, sc)
		}
	}
	return strings.Join(s, " ")
}

// describeTransportError says in a few words why no HTTP answer came back.
// It never repeats the request URL (the caller knows it) or any header.
func describeTransportError(err error) string {
	var (
		cve *tls.CertificateVerificationError
		uae x509.UnknownAuthorityError
		hne x509.HostnameError
		cie x509.CertificateInvalidError
		rhe tls.RecordHeaderError
		dns *net.DNSError
	)
	var pae *PrivateAddressError
	switch {
	case errors.As(err, &pae):
		return pae.Error()
	case errors.Is(err, context.Canceled):
		return "the request was canceled"
	case isTimeout(err):
		return "timeout waiting for the authorization server"
	case errors.As(err, &cve):
		return certificateProblem(cve.Err)
	case errors.As(err, &uae):
		return certificateProblem(uae)
	case errors.As(err, &hne):
		return certificateProblem(hne)
	case errors.As(err, &cie):
		return certificateProblem(cie)
	case errors.Is(err, http.ErrSchemeMismatch):
		return "TLS handshake failed: the server answered plain HTTP to an HTTPS request"
	case errors.As(err, &rhe):
		return "TLS handshake failed: the server did not answer with TLS"
	case errors.As(err, &dns):
		if dns.IsNotFound {
			return fmt.Sprintf("DNS lookup of %q failed: no such host", clean(dns.Name))
		}
		return fmt.Sprintf("DNS lookup of %q failed: %s", clean(dns.Name), clean(dns.Err))
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset by the server"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return clean(err.Error())
}

func certificateProblem(err error) string {
	return "TLS certificate verification failed (" + clean(err.Error()) + "); if the server uses a private CA, configure its CA bundle"
}

// isTimeout reports whether err, or any error it wraps, is a timeout.
func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	for ; err != nil; err = errors.Unwrap(err) {
		if t, ok := err.(interface{ Timeout() bool }); ok && t.Timeout() {
			return true
		}
	}
	return false
}
