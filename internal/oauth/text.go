package oauth

import (
	"encoding/base64"
	"net/url"
	"strings"
	"unicode"
)

const (
	// maxShownLen bounds any server-supplied or user-supplied text we quote
	// in a message, so a hostile server cannot flood conditions or logs.
	maxShownLen = 200

	// redacted replaces the client secret wherever it shows up.
	redacted = "[redacted]"
)

// sanitize turns whitespace runs into one space and drops control and format
// characters (including bidi overrides), so text from a server is safe to put
// in a single-line message.
func sanitize(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case unicode.IsSpace(r):
			return ' '
		case unicode.IsControl(r), unicode.Is(unicode.Cf, r):
			return -1
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// truncate cuts s to at most n runes, marking the cut.
func truncate(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j] + "..."
		}
		i++
	}
	return s
}

// clean prepares untrusted text for a message.
func clean(s string) string {
	return truncate(sanitize(s), maxShownLen)
}

// displayURL returns a URL fit for a message: any password is redacted, even
// when the URL does not parse.
func displayURL(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return truncate(u.Redacted(), maxShownLen)
	}
	if at := strings.LastIndex(raw, "@"); at >= 0 {
		start := strings.Index(raw, "//")
		if start >= 0 && start < at {
			raw = raw[:start+2] + "xxxxx" + raw[at:]
		} else {
			raw = "xxxxx" + raw[at:]
		}
	}
	return truncate(raw, maxShownLen)
}

// newRedactor returns a function that removes the client secret, in every
// form we send it, from a string. A server may echo what it received in an
// error_description; that must not end up in a condition or a log.
func newRedactor(id, secret string) func(string) string {
	if secret == "" {
		return func(s string) string { return s }
	}
	forms := []string{secret}
	for _, f := range []string{
		url.QueryEscape(secret),
		sanitize(secret),
		base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id) + ":" + url.QueryEscape(secret))),
	} {
		if f != "" && f != secret {
			forms = append(forms, f)
		}
	}
	return func(s string) string {
		for _, f := range forms {
			s = strings.ReplaceAll(s, f, redacted)
		}
		return s
	}
}
