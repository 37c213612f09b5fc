//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/crossmcp/provider-mcp/internal/function/render"
	"github.com/crossmcp/provider-mcp/test/mcpecho/whoami"
	"github.com/crossmcp/provider-mcp/test/wait"
)

// testProxyRunnerRotation rotates the client secret under a real proxy
// runner that serves calls all along, the way an operator should: the new
// secret is made valid at the server, the Kubernetes Secret is updated, the
// pod rolls, the old secret is revoked. Then it shows what a bad secret does:
// revoked at the server, the proxy's exchanges fail closed and the provider
// reports it; put in the Kubernetes Secret, the provider refuses it and the
// proxy keeps the accepted one. The test's secrets are its own: the secret
// other tests use is never revoked.
func testProxyRunnerRotation(t *testing.T) {
	const (
		first, second, third = "rotation-secret-1", "rotation-secret-2", "rotation-secret-3"
		wrong                = "rotation-secret-wrong"
	)
	secretsUsed = append(secretsUsed, first, second, third, wrong)
	idpSecrets(t, url.Values{"add": {first}})
	t.Cleanup(func() { idpSecrets(t, url.Values{"revoke": {first, second, third}}) })

	ns := newNamespace(t, "runner-rotation")
	mustCreate(t, clientSecretObj(ns, first), exampleConfig(t, ns, "backend-api"), mcpServerXR(t, ns, "rotating", "backend-api"))
	wait.For(t, 3*time.Minute, "MCPServer rotating Ready", xrReady(t, ns, "rotating"))
	ep := proxyEndpoint(t, ns, "rotating")
	serving(t, ep)
	l := startLoad(t, ep)
	l.converged(t, "the first call")

	t.Run("Rotation", func(t *testing.T) {
		idpSecrets(t, url.Values{"add": {second}})
		start, before, from := time.Now(), l.snapshot(), getConfig(t, ns, "backend-api").Status.AtProvider.ConfigHash
		setClientSecret(t, ns, second)
		rolled(t, ns, "rotating", "backend-api", from)
		idpSecrets(t, url.Values{"revoke": {first}})
		l.converged(t, "calls with the old secret revoked")
		roll := l.since(before)
		t.Logf("rotation: %d of %d calls failed in the %s from the Secret update until the new process served with the old secret revoked (last error: %s)",
			roll.failed, roll.calls(), time.Since(start).Round(time.Second), roll.lastErr)
		if w := l.window(t, 20); w.failed != 0 {
			t.Errorf("after the roll %d of %d calls failed (last: %s): the new process does not exchange with the new secret", w.failed, w.calls(), w.lastErr)
		}
	})

	t.Run("RevokedAtServer", func(t *testing.T) {
		template := deployment(t, ns, "rotating").Spec.Template.Annotations[render.AnnotationConfigHash]
		idpSecrets(t, url.Values{"revoke": {second}})
		wait.For(t, time.Minute, "calls fail", func() string {
			if s := l.snapshot(); s.streak != 0 || s.lastErr == "" {
				return fmt.Sprintf("%d calls in a row succeed", s.streak)
			}
			return ""
		})
		if w := l.window(t, 5); w.ok != 0 || !strings.Contains(w.lastErr, "Unauthorized") {
			t.Errorf("with its secret revoked the proxy answered %d of %d calls (last error %q): want every call refused as Unauthorized", w.ok, w.calls(), w.lastErr)
		}
		runnerLogged(t, ns, "rotating", "Token exchange failed", "invalid_client")
		wait.For(t, 2*time.Minute, "the provider reports CredentialsRejected", func() string {
			c := getConfig(t, ns, "backend-api").GetCondition(xpv2.TypeReady)
			if c.Status != corev1.ConditionFalse || c.Reason != "CredentialsRejected" {
				return fmt.Sprintf("Ready=%s %s %s", c.Status, c.Reason, c.Message)
			}
			return ""
		})
		if got := deployment(t, ns, "rotating").Spec.Template.Annotations[render.AnnotationConfigHash]; got != template {
			t.Errorf("the pod template moved from configHash %s to %s: nothing changed in Kubernetes", template, got)
		}
	})

	t.Run("FixedBySecretUpdate", func(t *testing.T) {
		idpSecrets(t, url.Values{"add": {third}})
		from := getConfig(t, ns, "backend-api").Status.AtProvider.ConfigHash
		setClientSecret(t, ns, third)
		rolled(t, ns, "rotating", "backend-api", from)
		l.converged(t, "calls with a valid secret again")
	})

	t.Run("WrongSecretIsNotPublished", func(t *testing.T) {
		accepted := getConfig(t, ns, "backend-api").Status.AtProvider.ConfigHash
		before := l.snapshot()
		setClientSecret(t, ns, wrong)
		wait.For(t, time.Minute, "the provider refuses the new secret", func() string {
			at := getConfig(t, ns, "backend-api").Status.AtProvider
			c := getConfig(t, ns, "backend-api").GetCondition(xpv2.TypeReady)
			if c.Reason != "CredentialsRejected" || at.ConfigHash == accepted {
				return fmt.Sprintf("Ready=%s %s, configHash %s", c.Status, c.Reason, at.ConfigHash)
			}
			if at.PublishedConfigHash != accepted {
				return "publishedConfigHash " + at.PublishedConfigHash + ", want the accepted " + accepted
			}
			return ""
		})
		conn := &corev1.Secret{}
		if err := kube.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "backend-api-token-exchange"}, conn); err != nil {
			t.Fatal(err)
		}
		if string(conn.Data["client_secret"]) != third || string(conn.Data["config_hash"]) != accepted {
			t.Errorf("the connection secret does not hold the accepted configuration %s (config_hash %s)", accepted, conn.Data["config_hash"])
		}
		w := l.window(t, 20)
		all := l.since(before)
		if all.failed != 0 {
			t.Errorf("%d of %d calls failed after a refused secret was set (last: %s): the proxy must keep the accepted one", all.failed, all.calls(), all.lastErr)
		}
		if got := deployment(t, ns, "rotating").Spec.Template.Annotations[render.AnnotationConfigHash]; got != accepted {
			t.Errorf("the pod template carries configHash %s, want the accepted %s", got, accepted)
		}
		t.Logf("a refused secret: %d calls, all served with the accepted one", all.calls()+w.calls())
	})
	l.stop()
}

// idpSecrets adds and revokes the demo client's secrets at the plane's
// authorization server, authenticated with the secret every other test uses.
func idpSecrets(t *testing.T, form url.Values) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, idpIssuer+"/demo/client-secrets", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(idpClientID, idpClientSecret)
	resp, err := idpHTTP(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("POST /demo/client-secrets %v: %s", form, resp.Status)
	}
}

func setClientSecret(t *testing.T, ns, value string) {
	t.Helper()
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		s := &corev1.Secret{}
		if err := kube.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "idp-client"}, s); err != nil {
			return err
		}
		s.Data["client-secret"] = []byte(value)
		return kube.Update(context.Background(), s)
	}); err != nil {
		t.Fatal(err)
	}
}

// rolled waits until config has moved on from configHash from, its new
// configHash is published and Deployment name has rolled to it: one pod, of
// the new template, the old one gone.
func rolled(t *testing.T, ns, name, config, from string) {
	t.Helper()
	wait.For(t, 2*time.Minute, "the Deployment rolled to the new secret", func() string {
		at := getConfig(t, ns, config).Status.AtProvider
		if at.ConfigHash == from || at.PublishedConfigHash != at.ConfigHash {
			return fmt.Sprintf("configHash %s, published %s", at.ConfigHash, at.PublishedConfigHash)
		}
		d := deployment(t, ns, name)
		if h := d.Spec.Template.Annotations[render.AnnotationConfigHash]; h != at.ConfigHash {
			return "pod template at configHash " + h
		}
		if d.Status.ObservedGeneration != d.Generation || d.Status.UpdatedReplicas != 1 || d.Status.Replicas != 1 || d.Status.AvailableReplicas != 1 {
			return fmt.Sprintf("rolling out: %+v", d.Status)
		}
		pods := &corev1.PodList{}
		if err := kube.List(context.Background(), pods, client.InNamespace(ns), client.MatchingLabels(d.Spec.Selector.MatchLabels)); err != nil {
			return err.Error()
		}
		if len(pods.Items) != 1 {
			return fmt.Sprintf("%d pods", len(pods.Items))
		}
		return ""
	})
}

// runnerLogged waits until a log of name's pods has a line with every one
// of words.
func runnerLogged(t *testing.T, ns, name string, words ...string) {
	t.Helper()
	wait.For(t, 30*time.Second, fmt.Sprintf("a runner log line with %q", words), func() string {
		logs, _ := filepath.Glob(filepath.Join(state, "pods", ns+"."+name+"-*.log"))
		for _, f := range logs {
			b, err := os.ReadFile(f)
			if err != nil {
				return err.Error()
			}
		lines:
			for line := range strings.Lines(string(b)) {
				for _, w := range words {
					if !strings.Contains(line, w) {
						continue lines
					}
				}
				return ""
			}
		}
		return fmt.Sprintf("none in %d logs", len(logs))
	})
}

// load calls an MCP server through its proxy, one call after the other,
// each with a fresh user token, until stopped.
type load struct {
	mu   sync.Mutex
	now  tally
	done chan struct{}
	quit chan struct{}
}

// tally counts calls.
type tally struct {
	ok, failed int
	streak     int // calls in a row that succeeded
	lastErr    string
}

func (a tally) calls() int { return a.ok + a.failed }

func startLoad(t *testing.T, endpoint string) *load {
	t.Helper()
	l := &load{done: make(chan struct{}), quit: make(chan struct{})}
	hc := idpHTTP(t)
	go func() {
		defer close(l.done)
		for {
			select {
			case <-l.quit:
				return
			default:
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err := call(ctx, hc, endpoint)
			cancel()
			l.mu.Lock()
			if err != nil {
				l.now.failed++
				l.now.streak = 0
				l.now.lastErr = err.Error()
			} else {
				l.now.ok++
				l.now.streak++
			}
			l.mu.Unlock()
			if err != nil {
				time.Sleep(100 * time.Millisecond) // a refused connection answers at once
			}
		}
	}()
	t.Cleanup(l.stop)
	return l
}

func call(ctx context.Context, hc *http.Client, endpoint string) error {
	tok, err := whoami.DemoToken(ctx, hc, idpIssuer, "alice", []string{mcpAudience}, nil)
	if err != nil {
		return err
	}
	r, err := whoami.Call(ctx, endpoint, http.Header{"Authorization": {"Bearer " + tok}})
	if err != nil {
		return err
	}
	if c := r.Tokens["Authorization"]; c == nil || c.Subject != "alice" || c.ClientID != idpClientID {
		return fmt.Errorf("the MCP server received %+v, not alice's exchanged token", c)
	}
	return nil
}

func (l *load) stop() {
	select {
	case <-l.quit:
	default:
		close(l.quit)
	}
	<-l.done
}

func (l *load) snapshot() tally {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.now
}

// since is what happened after before.
func (l *load) since(before tally) tally {
	now := l.snapshot()
	return tally{ok: now.ok - before.ok, failed: now.failed - before.failed, streak: now.streak, lastErr: now.lastErr}
}

// converged waits until three calls in a row, made after it was called,
// succeed.
func (l *load) converged(t *testing.T, what string) {
	t.Helper()
	before := l.snapshot()
	wait.For(t, 2*time.Minute, what+" succeed", func() string {
		if s := l.since(before); s.ok < 3 || s.streak < 3 {
			return fmt.Sprintf("%d in a row succeeded; last error: %s", s.streak, s.lastErr)
		}
		return ""
	})
}

// window waits for n more calls and tells what they did.
func (l *load) window(t *testing.T, n int) tally {
	t.Helper()
	before := l.snapshot()
	wait.For(t, time.Minute, fmt.Sprintf("%d calls", n), func() string {
		if got := l.since(before).calls(); got < n {
			return fmt.Sprintf("%d calls", got)
		}
		return ""
	})
	w := l.since(before)
	if w.failed == 0 {
		w.lastErr = ""
	}
	return w
}
