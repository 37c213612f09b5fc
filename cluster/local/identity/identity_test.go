package identity

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	authenticationv1 "k8s.io/api/authentication/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/clientcmd"
)

// tokenServer answers TokenRequests with a token naming the account and
// a count, and remembers the lifetimes asked for.
func tokenServer(fail error) (*fake.Clientset, *[]int64) {
	cs := fake.NewClientset()
	var asked []int64
	cs.PrependReactor("create", "serviceaccounts", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if fail != nil {
			return true, nil, fail
		}
		ca := a.(k8stesting.CreateAction)
		tr := ca.GetObject().(*authenticationv1.TokenRequest)
		asked = append(asked, *tr.Spec.ExpirationSeconds)
		tr.Status.Token = ca.GetNamespace() + "/" + a.(k8stesting.CreateActionImpl).Name + "#" + strconv.Itoa(len(asked))
		return true, tr, nil
	})
	return cs, &asked
}

func TestKubeconfig(t *testing.T) {
	cs, asked := tokenServer(nil)
	i := &Issuer{Dir: t.TempDir(), Server: "https://127.0.0.1:6443", CAPEM: []byte("ca"), Tokens: cs}
	kc, err := i.Kubeconfig(context.Background(), "crossplane-system", "crossplane")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.LoadFromFile(kc)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := clientcmd.NewDefaultClientConfig(*cfg, nil).ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	type got struct{ Host, TokenFile, Token, CA string }
	tok, err := os.ReadFile(rc.BearerTokenFile)
	if err != nil {
		t.Fatal(err)
	}
	want := got{Host: "https://127.0.0.1:6443", TokenFile: filepath.Join(i.Dir, "crossplane-system.crossplane.token"), Token: "crossplane-system/crossplane#1", CA: "ca"}
	if diff := cmp.Diff(want, got{Host: rc.Host, TokenFile: rc.BearerTokenFile, Token: string(tok), CA: string(rc.CAData)}); diff != "" {
		t.Errorf("kubeconfig: -want, +got:\n%s", diff)
	}
	if diff := cmp.Diff([]int64{int64(Lifetime.Seconds())}, *asked); diff != "" {
		t.Errorf("token lifetimes asked for: -want, +got:\n%s", diff)
	}
	if ns, _, _ := clientcmd.NewDefaultClientConfig(*cfg, nil).Namespace(); ns != "crossplane-system" {
		t.Errorf("namespace %q, want crossplane-system", ns)
	}
}

func TestKubeconfigRefused(t *testing.T) {
	cs, _ := tokenServer(errors.New("serviceaccounts \"nobody\" not found"))
	i := &Issuer{Dir: t.TempDir(), Tokens: cs}
	if _, err := i.Kubeconfig(context.Background(), "demo", "nobody"); err == nil {
		t.Error("Kubeconfig for an account without a token: no error")
	}
	if _, err := os.Stat(filepath.Join(i.Dir, "demo.nobody.kubeconfig")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a kubeconfig was written without a token (stat: %v)", err)
	}
}

// TestDue: tokens are renewed after half their lifetime, not before.
func TestDue(t *testing.T) {
	cs, _ := tokenServer(nil)
	i := &Issuer{Dir: t.TempDir(), Tokens: cs}
	for _, n := range []string{"a", "b"} {
		if _, err := i.Kubeconfig(context.Background(), "ns", n); err != nil {
			t.Fatal(err)
		}
	}
	a := filepath.Join(i.Dir, "ns.a.token")
	i.issued[a] = issued{ns: "ns", name: "a", at: time.Now().Add(-Lifetime/2 - time.Minute)}
	got := []string{}
	for path := range i.due(time.Now()) {
		got = append(got, path)
	}
	if diff := cmp.Diff([]string{a}, got); diff != "" {
		t.Errorf("due: -want, +got:\n%s", diff)
	}
}
