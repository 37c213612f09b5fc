// Package oauth holds the OAuth 2.0 logic the provider uses to verify an
// authorization server configured for RFC 8693 token exchange: endpoint URL
// validation and allow-listing, RFC 8414 / OpenID Connect metadata discovery,
// and a credentials probe that sends a token exchange request with a
// deliberately invalid subject token and classifies the answer.
//
// The probe never obtains a usable token for a real subject: it tells whether
// the server accepts the client's credentials and the token exchange grant.
// The client secret never appears in an error, a result or a log line.
//
// The package uses the standard library only, so it can be tested and fuzzed
// without Kubernetes.
package oauth
