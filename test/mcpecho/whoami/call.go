package whoami

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// DemoToken asks the local authorization server (test/authserver with
// DemoLogin) for a user's access token, as a login would give it.
func DemoToken(ctx context.Context, c *http.Client, issuer, sub string, aud, scopes []string) (string, error) {
	form := url.Values{"sub": {sub}, "aud": aud, "scope": scopes}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(issuer, "/")+"/demo/token", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("POST /demo/token: %s: %s", resp.Status, b)
	}
	var t struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(b, &t); err != nil || t.AccessToken == "" {
		return "", fmt.Errorf("POST /demo/token answered no access_token: %w", err)
	}
	return t.AccessToken, nil
}

// Anonymous sends an MCP request without a token, as a client that has not
// logged in, and returns the answer's status and WWW-Authenticate header.
func Anonymous(ctx context.Context, endpoint string) (status, challenge string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
	if err != nil {
		return "", "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", "", err
	}
	_ = resp.Body.Close()
	return resp.Status, resp.Header.Get("WWW-Authenticate"), nil
}

// headers adds fixed headers to every request, the way a client sends its
// user's token.
type headers struct {
	h  http.Header
	rt http.RoundTripper
}

func (t headers) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, vs := range t.h {
		r.Header[k] = vs
	}
	return t.rt.RoundTrip(r)
}

// Call connects to the MCP endpoint with h on every request (initialize
// included), calls the whoami tool and returns its report. An endpoint
// ending in /sse is spoken to over SSE, any other over streamable HTTP.
func Call(ctx context.Context, endpoint string, h http.Header) (Report, error) {
	hc := &http.Client{Transport: headers{h: h, rt: http.DefaultTransport}}
	c := mcp.NewClient(&mcp.Implementation{Name: "whoami-client", Version: "v1"}, nil)
	var t mcp.Transport = &mcp.StreamableClientTransport{Endpoint: endpoint, HTTPClient: hc, MaxRetries: -1, DisableStandaloneSSE: true}
	if strings.HasSuffix(endpoint, "/sse") {
		t = &mcp.SSEClientTransport{Endpoint: endpoint, HTTPClient: hc}
	}
	s, err := c.Connect(ctx, t, nil)
	if err != nil {
		return Report{}, fmt.Errorf("initialize: %w", err)
	}
	defer s.Close()
	res, err := s.CallTool(ctx, &mcp.CallToolParams{Name: ToolName})
	if err != nil {
		return Report{}, fmt.Errorf("tools/call %s: %w", ToolName, err)
	}
	if res.IsError {
		return Report{}, errors.New("tools/call: the tool reported an error")
	}
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		return Report{}, err
	}
	r := Report{}
	return r, json.Unmarshal(b, &r)
}
