package oauth

import (
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseEndpointURL(t *testing.T) {
	type args struct {
		raw       string
		allowHTTP bool
	}
	type want struct {
		url string
		err string
	}
	cases := map[string]struct {
		reason string
		args   args
		want   want
	}{
		"HTTPS": {
			reason: "An https URL with port, path and query is valid.",
			args:   args{raw: "https://auth.example.com:8443/oauth2/token?tenant=a"},
			want:   want{url: "https://auth.example.com:8443/oauth2/token?tenant=a"},
		},
		"HTTPAllowed": {
			reason: "http is valid when allowed.",
			args:   args{raw: "http://x", allowHTTP: true},
			want:   want{url: "http://x"},
		},
		"HTTPNotAllowed": {
			reason: "http is refused unless allowed, and the error says how to allow it.",
			args:   args{raw: "http://x"},
			want:   want{err: `URL "http://x" must use https (set insecureAllowHTTP to allow http)`},
		},
		"Empty": {
			reason: "An empty URL is an error.",
			args:   args{raw: ""},
			want:   want{err: "URL must not be empty"},
		},
		"Whitespace": {
			reason: "Surrounding whitespace is an error, not silently trimmed.",
			args:   args{raw: " https://x"},
			want:   want{err: `URL " https://x" must not have leading or trailing whitespace`},
		},
		"Unparseable": {
			reason: "A URL that does not parse is an error that says why.",
			args:   args{raw: "https://exa mple.com"},
			want:   want{err: `URL "https://exa mple.com" is not valid: invalid character " " in host name`},
		},
		"UnparseableWithPassword": {
			reason: "A URL that does not parse has its user info redacted.",
			args:   args{raw: "https://user:pa ss@example.com"},
			want:   want{err: `URL "https://xxxxx@example.com" is not valid: net/url: invalid userinfo`},
		},
		"Relative": {
			reason: "A relative URL is an error.",
			args:   args{raw: "/token"},
			want:   want{err: `URL "/token" must be absolute, like https://auth.example.com/token`},
		},
		"NoScheme": {
			reason: "A host without scheme is an error.",
			args:   args{raw: "auth.example.com/token"},
			want:   want{err: `URL "auth.example.com/token" must be absolute, like https://auth.example.com/token`},
		},
		"OtherScheme": {
			reason: "Schemes other than https and http are errors.",
			args:   args{raw: "ftp://x/", allowHTTP: true},
			want:   want{err: `URL "ftp://x/" must use https, not "ftp"`},
		},
		"Opaque": {
			reason: "An opaque URL has no host.",
			args:   args{raw: "https:auth.example.com"},
			want:   want{err: `URL "https:auth.example.com" must have a host`},
		},
		"PortOnly": {
			reason: "A port without host name is an error.",
			args:   args{raw: "https://:443/token"},
			want:   want{err: `URL "https://:443/token" must have a host`},
		},
		"UserInfo": {
			reason: "User info is an error, and the password is not repeated.",
			args:   args{raw: "https://client:hunter2@auth.example.com/token"},
			want:   want{err: `URL "https://client:xxxxx@auth.example.com/token" must not contain user info (credentials belong in a secret)`},
		},
		"Fragment": {
			reason: "A fragment is an error.",
			args:   args{raw: "https://x/token#frag"},
			want:   want{err: `URL "https://x/token#frag" must not have a fragment`},
		},
		"EmptyFragment": {
			reason: "An empty fragment is an error too, though url.Parse drops it.",
			args:   args{raw: "https://x/token#"},
			want:   want{err: `URL "https://x/token" must not have a fragment`},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			u, err := ParseEndpointURL(tc.args.raw, tc.args.allowHTTP)
			got := want{err: errString(err)}
			if u != nil {
				got.url = u.String()
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("\n%s\nParseEndpointURL(%q, %t): -want, +got:\n%s", tc.reason, tc.args.raw, tc.args.allowHTTP, diff)
			}
		})
	}
}

func TestHostAllowed(t *testing.T) {
	type args struct {
		url   string
		allow []string
	}
	cases := map[string]struct {
		reason string
		args   args
		want   bool
	}{
		"EmptyList":         {reason: "An empty list allows every host.", args: args{url: "https://any.example.org/"}, want: true},
		"Exact":             {reason: "An exact host matches.", args: args{url: "https://auth.example.com/token", allow: []string{"other.example.com", "auth.example.com"}}, want: true},
		"ExactCase":         {reason: "Matching ignores case.", args: args{url: "https://AUTH.Example.com/", allow: []string{"auth.EXAMPLE.com"}}, want: true},
		"TrailingDot":       {reason: "A trailing dot is ignored.", args: args{url: "https://auth.example.com./", allow: []string{"auth.example.com"}}, want: true},
		"ExactAnyPort":      {reason: "A pattern without port matches any port.", args: args{url: "https://auth.example.com:8443/", allow: []string{"auth.example.com"}}, want: true},
		"ExactOther":        {reason: "A different host does not match.", args: args{url: "https://evil.example.net/", allow: []string{"auth.example.com"}}, want: false},
		"SuffixNotWildcard": {reason: "An exact pattern does not match a longer host.", args: args{url: "https://auth.example.com.evil.net/", allow: []string{"auth.example.com"}}, want: false},
		"PortMatch":         {reason: "A pattern with port matches that port.", args: args{url: "https://auth.example.com:8443/", allow: []string{"auth.example.com:8443"}}, want: true},
		"PortMismatch":      {reason: "A pattern with port does not match another port.", args: args{url: "https://auth.example.com:9443/", allow: []string{"auth.example.com:8443"}}, want: false},
		"DefaultPort":       {reason: "The scheme's default port counts as the URL's port.", args: args{url: "https://auth.example.com/", allow: []string{"auth.example.com:443"}}, want: true},
		"DefaultPortHTTP":   {reason: "http's default port is 80.", args: args{url: "http://auth.example.com/", allow: []string{"auth.example.com:443"}}, want: false},
		"Wildcard":          {reason: "A wildcard matches a subdomain.", args: args{url: "https://a.example.com/", allow: []string{"*.example.com"}}, want: true},
		"WildcardDeep":      {reason: "A wildcard matches deeper subdomains.", args: args{url: "https://a.b.example.com/", allow: []string{"*.Example.com"}}, want: true},
		"WildcardApex":      {reason: "A wildcard does not match the domain itself.", args: args{url: "https://example.com/", allow: []string{"*.example.com"}}, want: false},
		"WildcardLookalike": {reason: "A wildcard does not match a look-alike domain.", args: args{url: "https://badexample.com/", allow: []string{"*.example.com"}}, want: false},
		"WildcardPort":      {reason: "A wildcard with port checks the port.", args: args{url: "https://a.example.com:8443/", allow: []string{"*.example.com:8443"}}, want: true},
		"WildcardPortOther": {reason: "A wildcard with port refuses other ports.", args: args{url: "https://a.example.com/", allow: []string{"*.example.com:8443"}}, want: false},
		"LoneStar":          {reason: "A lone star matches nothing; an empty list allows all.", args: args{url: "https://a.example.com/", allow: []string{"*"}}, want: false},
		"PartialWildcard":   {reason: "Only a whole leading label may be a wildcard.", args: args{url: "https://auth.example.com/", allow: []string{"a*.example.com"}}, want: false},
		"InnerWildcard":     {reason: "A wildcard inside the name matches nothing.", args: args{url: "https://a.b.example.com/", allow: []string{"a.*.example.com"}}, want: false},
		"DoubleWildcard":    {reason: "Only one wildcard is allowed.", args: args{url: "https://a.b.example.com/", allow: []string{"*.*.example.com"}}, want: false},
		"WildcardIP":        {reason: "A wildcard never matches an IP address.", args: args{url: "https://127.0.0.1/", allow: []string{"*.0.0.1"}}, want: false},
		"IP":                {reason: "An IP address matches exactly.", args: args{url: "https://10.0.0.1:8443/", allow: []string{"10.0.0.1:8443"}}, want: true},
		"IPv6WithPort":      {reason: "An IPv6 pattern with port matches.", args: args{url: "https://[::1]:8443/", allow: []string{"[::1]:8443"}}, want: true},
		"IPv6Bracketed":     {reason: "A bracketed IPv6 pattern without port matches.", args: args{url: "https://[::1]:8443/", allow: []string{"[::1]"}}, want: true},
		"IPv6Bare":          {reason: "A bare IPv6 pattern matches.", args: args{url: "https://[::1]/", allow: []string{"::1"}}, want: true},
		"EmptyPattern":      {reason: "Empty patterns match nothing.", args: args{url: "https://a.example.com/", allow: []string{"", " "}}, want: false},
		"NoHost":            {reason: "A URL without host matches nothing.", args: args{url: "/token", allow: []string{"auth.example.com"}}, want: false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			u, err := url.Parse(tc.args.url)
			if err != nil {
				t.Fatal(err)
			}
			got := HostAllowed(u, tc.args.allow)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("\n%s\nHostAllowed(%q, %q): -want, +got:\n%s", tc.reason, tc.args.url, tc.args.allow, diff)
			}
		})
	}
}

func TestHostAllowedNilURL(t *testing.T) {
	if HostAllowed(nil, nil) {
		t.Errorf("HostAllowed(nil, nil): want false")
	}
}

func TestSameEndpoint(t *testing.T) {
	type args struct {
		a, b string
	}
	cases := map[string]struct {
		reason string
		args   args
		want   bool
	}{
		"Identical":       {reason: "Identical URLs are the same.", args: args{a: "https://a.example.com/token", b: "https://a.example.com/token"}, want: true},
		"TrailingSlash":   {reason: "A trailing slash is ignored.", args: args{a: "https://a.example.com/token/", b: "https://a.example.com/token"}, want: true},
		"RootSlash":       {reason: "An empty path and / are the same.", args: args{a: "https://a.example.com", b: "https://a.example.com/"}, want: true},
		"Case":            {reason: "Scheme and host case are ignored.", args: args{a: "HTTPS://A.Example.COM/token", b: "https://a.example.com/token"}, want: true},
		"PathCase":        {reason: "Path case matters.", args: args{a: "https://a.example.com/Token", b: "https://a.example.com/token"}, want: false},
		"DefaultPort":     {reason: "An explicit default port is ignored.", args: args{a: "https://a.example.com:443/token", b: "https://a.example.com/token"}, want: true},
		"DefaultPortHTTP": {reason: "http's default port is 80.", args: args{a: "http://a.example.com:80/token", b: "http://a.example.com/token"}, want: true},
		"OtherPort":       {reason: "Another port differs.", args: args{a: "https://a.example.com:8443/token", b: "https://a.example.com/token"}, want: false},
		"SamePort":        {reason: "The same non-default port matches.", args: args{a: "https://a.example.com:8443/token", b: "https://A.example.com:8443/token/"}, want: true},
		"Scheme":          {reason: "Schemes differ.", args: args{a: "http://a.example.com/token", b: "https://a.example.com/token"}, want: false},
		"Query":           {reason: "Queries must match.", args: args{a: "https://a.example.com/token?x=1", b: "https://a.example.com/token?x=2"}, want: false},
		"QueryEqual":      {reason: "Equal queries match.", args: args{a: "https://a.example.com/token?x=1", b: "https://a.example.com/token/?x=1"}, want: true},
		"Fragment":        {reason: "Fragments must match.", args: args{a: "https://a.example.com/token#a", b: "https://a.example.com/token"}, want: false},
		"UserInfo":        {reason: "User info must match.", args: args{a: "https://u@a.example.com/token", b: "https://a.example.com/token"}, want: false},
		"IPv6":            {reason: "IPv6 hosts compare with and without default port.", args: args{a: "https://[::1]:443/t", b: "https://[::1]/t/"}, want: true},
		"NotURLs":         {reason: "Strings that are not absolute URLs compare as they are.", args: args{a: "token", b: "token"}, want: true},
		"NotURLsDiffer":   {reason: "Strings that are not URLs do not match a URL.", args: args{a: "/token", b: "https://a.example.com/token"}, want: false},
		"Unparseable":     {reason: "Unparseable strings compare as they are.", args: args{a: "https://a b/", b: "https://a b"}, want: false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := SameEndpoint(tc.args.a, tc.args.b)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("\n%s\nSameEndpoint(%q, %q): -want, +got:\n%s", tc.reason, tc.args.a, tc.args.b, diff)
			}
		})
	}
}
