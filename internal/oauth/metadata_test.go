package oauth

import (
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	testIssuer = "https://auth.example.com/realms/mcp"
	testToken  = "https://auth.example.com/realms/mcp/protocol/openid-connect/token"
)

func TestParseMetadata(t *testing.T) {
	type args struct {
		body           string
		expectedIssuer string
	}
	type want struct {
		md  *Metadata
		err string
	}
	cases := map[string]struct {
		reason string
		args   args
		want   want
	}{
		"Valid": {
			reason: "A complete document is decoded; unknown fields are ignored.",
			args: args{
				body: `{"issuer":"` + testIssuer + `","token_endpoint":"` + testToken + `",
					"grant_types_supported":["client_credentials","` + GrantTypeTokenExchange + `"],
					"token_endpoint_auth_methods_supported":["client_secret_basic"],"jwks_uri":"https://x/jwks"}`,
				expectedIssuer: testIssuer,
			},
			want: want{md: &Metadata{
				Issuer:                            testIssuer,
				TokenEndpoint:                     testToken,
				GrantTypesSupported:               []string{"client_credentials", GrantTypeTokenExchange},
				TokenEndpointAuthMethodsSupported: []string{"client_secret_basic"},
			}},
		},
		"TrailingSlashInDocument": {
			reason: "A trailing slash on the document's issuer is tolerated.",
			args:   args{body: `{"issuer":"` + testIssuer + `/","token_endpoint":"` + testToken + `"}`, expectedIssuer: testIssuer},
			want:   want{md: &Metadata{Issuer: testIssuer + "/", TokenEndpoint: testToken}},
		},
		"TrailingSlashExpected": {
			reason: "A trailing slash on the expected issuer is tolerated.",
			args:   args{body: `{"issuer":"` + testIssuer + `","token_endpoint":"` + testToken + `"}`, expectedIssuer: testIssuer + "/"},
			want:   want{md: &Metadata{Issuer: testIssuer, TokenEndpoint: testToken}},
		},
		"IssuerMismatch": {
			reason: "A document for another issuer is refused.",
			args:   args{body: `{"issuer":"https://evil.example.com","token_endpoint":"` + testToken + `"}`, expectedIssuer: testIssuer},
			want:   want{err: `metadata issuer "https://evil.example.com" does not match the expected issuer "` + testIssuer + `"`},
		},
		"IssuerCase": {
			reason: "Issuers compare exactly, apart from a trailing slash.",
			args:   args{body: `{"issuer":"https://AUTH.example.com/realms/mcp","token_endpoint":"` + testToken + `"}`, expectedIssuer: testIssuer},
			want:   want{err: `metadata issuer "https://AUTH.example.com/realms/mcp" does not match the expected issuer "` + testIssuer + `"`},
		},
		"IssuerSanitized": {
			reason: "A hostile issuer is cleaned and cut before it is quoted.",
			args:   args{body: `{"issuer":"a\nb` + strings.Repeat("x", 300) + `","token_endpoint":"t"}`, expectedIssuer: testIssuer},
			want:   want{err: `metadata issuer "a b` + strings.Repeat("x", 197) + `..." does not match the expected issuer "` + testIssuer + `"`},
		},
		"NoIssuer": {
			reason: "A document without issuer is refused.",
			args:   args{body: `{"token_endpoint":"` + testToken + `"}`, expectedIssuer: testIssuer},
			want:   want{err: "metadata document has no issuer"},
		},
		"NoTokenEndpoint": {
			reason: "A document without token endpoint is refused.",
			args:   args{body: `{"issuer":"` + testIssuer + `"}`, expectedIssuer: testIssuer},
			want:   want{err: "metadata document has no token_endpoint"},
		},
		"Null": {
			reason: "A JSON null has no issuer.",
			args:   args{body: `null`, expectedIssuer: testIssuer},
			want:   want{err: "metadata document has no issuer"},
		},
		"HTML": {
			reason: "A web page is not a metadata document.",
			args:   args{body: `<html><body>Login</body></html>`, expectedIssuer: testIssuer},
			want:   want{err: "cannot decode metadata document: invalid character '<' looking for beginning of value"},
		},
		"Empty": {
			reason: "An empty body is not a metadata document.",
			args:   args{body: ``, expectedIssuer: testIssuer},
			want:   want{err: "cannot decode metadata document: unexpected end of JSON input"},
		},
		"WrongType": {
			reason: "Fields of the wrong type are refused.",
			args:   args{body: `{"issuer":42}`, expectedIssuer: testIssuer},
			want:   want{err: "cannot decode metadata document: json: cannot unmarshal number into Go struct field Metadata.issuer of type string"},
		},
		"TooLarge": {
			reason: "A document larger than 1 MiB is refused before decoding.",
			args:   args{body: `{"issuer":"` + strings.Repeat("a", MaxMetadataBytes) + `"}`, expectedIssuer: testIssuer},
			want:   want{err: "metadata document is larger than 1048576 bytes"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			md, err := ParseMetadata([]byte(tc.args.body), tc.args.expectedIssuer)
			got := want{md: md, err: errString(err)}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("\n%s\nParseMetadata(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestAdvertisesGrant(t *testing.T) {
	type want struct {
		advertised, listed bool
	}
	cases := map[string]struct {
		reason string
		args   *Metadata
		want   want
	}{
		"Advertised": {
			reason: "A listed grant is advertised.",
			args:   &Metadata{GrantTypesSupported: []string{"client_credentials", GrantTypeTokenExchange}},
			want:   want{advertised: true, listed: true},
		},
		"NotAdvertised": {
			reason: "A list without the grant says it is not supported.",
			args:   &Metadata{GrantTypesSupported: []string{"authorization_code"}},
			want:   want{advertised: false, listed: true},
		},
		"Absent": {
			reason: "Without a list we do not know.",
			args:   &Metadata{},
			want:   want{},
		},
		"Empty": {
			reason: "An empty list tells nothing either.",
			args:   &Metadata{GrantTypesSupported: []string{}},
			want:   want{},
		},
		"Nil": {
			reason: "No metadata, no list.",
			args:   nil,
			want:   want{},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			a, l := tc.args.AdvertisesGrant(GrantTypeTokenExchange)
			if diff := cmp.Diff(tc.want, want{advertised: a, listed: l}, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("\n%s\nAdvertisesGrant(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestDiscoveryURLs(t *testing.T) {
	cases := map[string]struct {
		reason string
		args   string
		want   []string
	}{
		"NoPath": {
			reason: "Without a path both well-known documents sit at the root.",
			args:   "https://auth.example.com",
			want:   []string{"https://auth.example.com/.well-known/oauth-authorization-server", "https://auth.example.com/.well-known/openid-configuration"},
		},
		"RootPath": {
			reason: "A lone slash is no path.",
			args:   "https://auth.example.com/",
			want:   []string{"https://auth.example.com/.well-known/oauth-authorization-server", "https://auth.example.com/.well-known/openid-configuration"},
		},
		"Path": {
			reason: "RFC 8414 inserts the well-known segment before the path; OpenID appends it.",
			args:   "https://auth.example.com:8443/realms/mcp/",
			want:   []string{"https://auth.example.com:8443/.well-known/oauth-authorization-server/realms/mcp", "https://auth.example.com:8443/realms/mcp/.well-known/openid-configuration"},
		},
		"EscapedPath": {
			reason: "An escaped path stays escaped; query and fragment are dropped.",
			args:   "https://auth.example.com/t%2Fa?x=1#f",
			want:   []string{"https://auth.example.com/.well-known/oauth-authorization-server/t%2Fa", "https://auth.example.com/t%2Fa/.well-known/openid-configuration"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			u, err := url.Parse(tc.args)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, DiscoveryURLs(u)); diff != "" {
				t.Errorf("\n%s\nDiscoveryURLs(%q): -want, +got:\n%s", tc.reason, tc.args, diff)
			}
		})
	}
	if got := DiscoveryURLs(nil); got != nil {
		t.Errorf("DiscoveryURLs(nil): want nil, got %q", got)
	}
}
