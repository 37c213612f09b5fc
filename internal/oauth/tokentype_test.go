package oauth

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNormalizeSubjectTokenType(t *testing.T) {
	type want struct {
		typ string
		err string
	}
	cases := map[string]struct {
		reason string
		args   string
		want   want
	}{
		"Empty": {
			reason: "An empty type means an access token.",
			args:   "",
			want:   want{typ: TokenTypeAccessToken},
		},
		"AccessToken": {
			reason: "The short form access_token maps to its URN.",
			args:   "access_token",
			want:   want{typ: TokenTypeAccessToken},
		},
		"IDToken": {
			reason: "The short form id_token maps to its URN.",
			args:   "id_token",
			want:   want{typ: TokenTypeIDToken},
		},
		"JWT": {
			reason: "The short form jwt maps to its URN, ignoring case and surrounding space.",
			args:   " JWT ",
			want:   want{typ: TokenTypeJWT},
		},
		"KnownURN": {
			reason: "A registered URN is returned unchanged.",
			args:   TokenTypeIDToken,
			want:   want{typ: TokenTypeIDToken},
		},
		"OtherURN": {
			reason: "Servers may define their own token type URNs.",
			args:   "urn:example:token-type:custom",
			want:   want{typ: "urn:example:token-type:custom"},
		},
		"BareURNPrefix": {
			reason: "urn: alone is not a URN.",
			args:   "urn:",
			want:   want{err: `subject token type "urn:" is not supported: use access_token, id_token, jwt or a token type URN`},
		},
		"URNWithoutNSS": {
			reason: "A URN needs a namespace and a specific string.",
			args:   "urn:ietf",
			want:   want{err: `subject token type "urn:ietf" is not supported: use access_token, id_token, jwt or a token type URN`},
		},
		"URNWithSpace": {
			reason: "A URN cannot contain whitespace.",
			args:   "urn:a:b c",
			want:   want{err: `subject token type "urn:a:b c" is not supported: use access_token, id_token, jwt or a token type URN`},
		},
		"Unknown": {
			reason: "Anything else is an error.",
			args:   "refresh",
			want:   want{err: `subject token type "refresh" is not supported: use access_token, id_token, jwt or a token type URN`},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			typ, err := NormalizeSubjectTokenType(tc.args)
			got := want{typ: typ, err: errString(err)}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("\n%s\nNormalizeSubjectTokenType(%q): -want, +got:\n%s", tc.reason, tc.args, diff)
			}
		})
	}
}
