package oauth

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSanitize(t *testing.T) {
	cases := map[string]struct {
		reason string
		args   string
		want   string
	}{
		"Plain":     {reason: "Plain text is unchanged.", args: "Invalid token", want: "Invalid token"},
		"Newlines":  {reason: "Whitespace runs become one space and ends are trimmed.", args: " a\r\n\tb  c ", want: "a b c"},
		"Controls":  {reason: "Control and format characters are dropped.", args: "a\x00b\x1b[31mc\u202ed\u200be", want: "ab[31mcde"},
		"BadUTF8":   {reason: "Invalid UTF-8 becomes the replacement character.", args: "a\xffb", want: "a\ufffdb"},
		"LineSep":   {reason: "Unicode line separators are whitespace.", args: "a\u2028b", want: "a b"},
		"OnlySpace": {reason: "Only whitespace gives nothing.", args: " \n ", want: ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, sanitize(tc.args)); diff != "" {
				t.Errorf("\n%s\nsanitize(%q): -want, +got:\n%s", tc.reason, tc.args, diff)
			}
		})
	}
}

func TestTruncate(t *testing.T) {
	type args struct {
		s string
		n int
	}
	cases := map[string]struct {
		reason string
		args   args
		want   string
	}{
		"Short":  {reason: "Short text is unchanged.", args: args{s: "abc", n: 3}, want: "abc"},
		"Long":   {reason: "Long text is cut and marked.", args: args{s: "abcd", n: 3}, want: "abc..."},
		"Runes":  {reason: "Text is cut on rune boundaries.", args: args{s: "ééé", n: 2}, want: "éé..."},
		"ZeroOK": {reason: "Empty text stays empty.", args: args{s: "", n: 0}, want: ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, truncate(tc.args.s, tc.args.n)); diff != "" {
				t.Errorf("\n%s\ntruncate(%q, %d): -want, +got:\n%s", tc.reason, tc.args.s, tc.args.n, diff)
			}
		})
	}
}

func TestDisplayURL(t *testing.T) {
	cases := map[string]struct {
		reason string
		args   string
		want   string
	}{
		"Plain":              {reason: "A URL without password is unchanged.", args: "https://a.example.com/t?x=1", want: "https://a.example.com/t?x=1"},
		"Password":           {reason: "A password is redacted.", args: "https://u:p@a.example.com/", want: "https://u:xxxxx@a.example.com/"},
		"UnparseablePass":    {reason: "User info of an unparseable URL is redacted.", args: "https://u:p w@a b/", want: "https://xxxxx@a b/"},
		"UnparseableNoSlash": {reason: "Text before @ is redacted without a scheme separator too.", args: ":p w@a b", want: "xxxxx@a b"},
		"Unparseable":        {reason: "An unparseable URL without @ is shown as is.", args: "https://a b/", want: "https://a b/"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, displayURL(tc.args)); diff != "" {
				t.Errorf("\n%s\ndisplayURL(%q): -want, +got:\n%s", tc.reason, tc.args, diff)
			}
		})
	}
}

func TestNewRedactor(t *testing.T) {
	type args struct {
		id, secret, s string
	}
	cases := map[string]struct {
		reason string
		args   args
		want   string
	}{
		"NoSecret":  {reason: "Without a secret nothing is redacted.", args: args{s: "abc"}, want: "abc"},
		"Raw":       {reason: "The secret is redacted.", args: args{secret: "s3 cr:t", s: "got s3 cr:t!"}, want: "got [redacted]!"},
		"Escaped":   {reason: "The form-encoded secret is redacted.", args: args{secret: "s3 cr:t", s: "got s3+cr%3At!"}, want: "got [redacted]!"},
		"Sanitized": {reason: "The secret as sanitize would show it is redacted.", args: args{secret: "a\nb\x00c", s: "got a bc"}, want: "got [redacted]"},
		"Basic":     {reason: "The Basic credentials are redacted.", args: args{id: "id", secret: "pw", s: "got aWQ6cHc="}, want: "got [redacted]"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := newRedactor(tc.args.id, tc.args.secret)(tc.args.s)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("\n%s\nredact(%q): -want, +got:\n%s", tc.reason, tc.args.s, diff)
			}
		})
	}
}
