package oauth

import (
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"testing"
)

// errString lets tables compare errors by message.
func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// newTLSServer starts an https test server that does not log handshake
// errors, and returns it with its certificate as a PEM CA bundle.
func newTLSServer(t *testing.T, h http.Handler) (*httptest.Server, []byte) {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	return srv, ca
}

// newVerifier returns a Verifier trusting ca.
func newVerifier(t *testing.T, ca []byte) *Verifier {
	t.Helper()
	c, err := NewHTTPClient(ca, 0, "", PrivateAllowed)
	if err != nil {
		t.Fatalf("NewHTTPClient: %v", err)
	}
	return &Verifier{HTTP: c}
}
