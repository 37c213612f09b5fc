package authserver

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestRotateClientSecret proves a secret added is accepted beside the old
// one, and a revoked one is refused with invalid_client from then on, both
// in-process and through /demo/client-secrets.
func TestRotateClientSecret(t *testing.T) {
	s, c := start(t, Options{DemoLogin: true})
	grant := url.Values{"grant_type": {"client_credentials"}}
	works := func(secret string) string {
		status, body := postToken(t, c, s.TokenURL, auth{id: s.ClientID, secret: secret}, grant)
		if status == http.StatusOK {
			return "accepted"
		}
		return body["error"].(string) //nolint:forcetypeassert // Every error answer names its error.
	}
	admin := func(as string, form url.Values) int {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.Issuer+"/demo/client-secrets", strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(url.QueryEscape(s.ClientID), url.QueryEscape(as))
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}

	type step struct {
		reason string
		do     func() int
		status int
		want   map[string]string
	}
	steps := []step{
		{
			reason: "Adding a secret keeps the old one valid.",
			do:     func() int { return errStatus(s.RotateClientSecret("second", "")) },
			status: http.StatusOK,
			want:   map[string]string{s.ClientSecret: "accepted", "second": "accepted", "third": "invalid_client"},
		},
		{
			reason: "A revoked secret is refused at once.",
			do:     func() int { return errStatus(s.RotateClientSecret("", s.ClientSecret)) },
			status: http.StatusOK,
			want:   map[string]string{s.ClientSecret: "invalid_client", "second": "accepted"},
		},
		{
			reason: "The last secret cannot be revoked.",
			do:     func() int { return errStatus(s.RotateClientSecret("", "second")) },
			status: http.StatusBadRequest,
			want:   map[string]string{"second": "accepted"},
		},
		{
			reason: "Over HTTP, only a caller holding a valid secret may rotate.",
			do:     func() int { return admin(s.ClientSecret, url.Values{"add": {"third"}}) },
			status: http.StatusUnauthorized,
			want:   map[string]string{"third": "invalid_client"},
		},
		{
			reason: "Over HTTP, the client adds one secret and revokes another in one request.",
			do:     func() int { return admin("second", url.Values{"add": {"third"}, "revoke": {"second"}}) },
			status: http.StatusNoContent,
			want:   map[string]string{"second": "invalid_client", "third": "accepted"},
		},
	}
	for _, st := range steps {
		if diff := cmp.Diff(st.status, st.do()); diff != "" {
			t.Errorf("\n%s\nstatus: -want, +got:\n%s", st.reason, diff)
		}
		got := map[string]string{}
		for secret := range st.want {
			got[secret] = works(secret)
		}
		if diff := cmp.Diff(st.want, got); diff != "" {
			t.Errorf("\n%s\nsecrets: -want, +got:\n%s", st.reason, diff)
		}
	}
}

func errStatus(err error) int {
	if err != nil {
		return http.StatusBadRequest
	}
	return http.StatusOK
}
