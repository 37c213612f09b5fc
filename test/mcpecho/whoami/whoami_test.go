package whoami

import (
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/go-cmp/cmp"
)

func sign(t *testing.T, c any) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jwt.Signed(sig).Claims(c).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestFromHeader(t *testing.T) {
	exchanged := Claims{Issuer: "https://idp", Subject: "alice", Audience: []string{"backend"}, Scope: "read write", ClientID: "mcp-proxy"}
	// A single audience is a JSON string in a JWT.
	single := map[string]any{"iss": "https://idp", "sub": "alice", "aud": "backend", "scope": "read write", "client_id": "mcp-proxy"}
	cases := map[string]struct {
		reason string
		header http.Header
		want   Report
	}{
		"Replace": {
			reason: "A JWT in Authorization is reported under Authorization.",
			header: http.Header{"Authorization": {"Bearer " + sign(t, single)}},
			want:   Report{Tokens: map[string]*Claims{"Authorization": &exchanged}},
		},
		"CustomHeader": {
			reason: "A bearer token in another header is reported under that header, and Authorization too.",
			header: http.Header{"X-Upstream-Token": {"Bearer " + sign(t, exchanged)}, "Authorization": {"Bearer " + sign(t, jwt.Claims{Subject: "alice", Audience: jwt.Audience{"mcp", "other"}})}},
			want: Report{Tokens: map[string]*Claims{
				"X-Upstream-Token": &exchanged,
				"Authorization":    {Subject: "alice", Audience: []string{"mcp", "other"}},
			}},
		},
		"Opaque": {
			reason: "A bearer value that is no JWT is reported as nil.",
			header: http.Header{"Authorization": {"Bearer opaque"}},
			want:   Report{Tokens: map[string]*Claims{"Authorization": nil}},
		},
		"NoBearer": {
			reason: "Other schemes and headers are not tokens.",
			header: http.Header{"Authorization": {"Basic YTpi"}, "Accept": {"application/json"}},
			want:   Report{Tokens: map[string]*Claims{}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, FromHeader(tc.header)); diff != "" {
				t.Errorf("%s\nFromHeader(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}
