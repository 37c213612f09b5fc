// Package pkgruntime plays Crossplane's package runtime for our provider and
// function, which the plane's Crossplane runs with the External runtime: for
// each active revision it writes the TLS server secret, reports the endpoint
// and the runtime's health on the revision, gives a provider the identity
// Crossplane's Deployment runtime would, and runs our binary as a local
// process. It loops, so new revisions are served too, and a process that
// dies is started again.
package pkgruntime

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pkgv1 "github.com/crossplane/crossplane/apis/v2/pkg/v1"

	"github.com/crossmcp/provider-mcp/cluster/local/proc"
	"github.com/crossmcp/provider-mcp/cluster/local/state"
)

// Loop is how often the runtime looks at revisions and processes.
const Loop = 2 * time.Second

// labelPackageName names the package a revision belongs to.
const labelPackageName = "pkg.crossplane.io/package"

// stopWait is how long a process gets to stop.
const stopWait = 10 * time.Second

// KubeconfigFunc returns the path of a kubeconfig for a ServiceAccount.
type KubeconfigFunc func(ctx context.Context, namespace, name string) (string, error)

// Runtime runs the provider's and the function's revisions.
type Runtime struct {
	Kube  client.Client
	Procs *proc.Set
	Paths *state.Paths
	// Kubeconfig gives the provider the identity of its ServiceAccount.
	Kubeconfig KubeconfigFunc
	// Namespace is Crossplane's.
	Namespace string
	// RootCASecret is Crossplane's root CA, which signs the packages' TLS
	// server certificates.
	RootCASecret string
	// FunctionAddr is where the function serves, an IP and port.
	FunctionAddr string
	// ProviderArgs are the provider's flags; ProviderHealth its health
	// probe address.
	ProviderArgs   []string
	ProviderHealth string

	// runsAs is the ServiceAccount each running provider process runs as.
	runsAs map[string]string
}

// Run serves revisions until ctx ends; errors go to the package-runtime log.
func (r *Runtime) Run(ctx context.Context) {
	wait.UntilWithContext(ctx, func(ctx context.Context) {
		if err := r.Once(ctx); err != nil && ctx.Err() == nil {
			_ = r.Paths.AppendLog("package-runtime", []byte(time.Now().Format(time.RFC3339)+" "+err.Error()+"\n"))
		}
	}, Loop)
}

// Once looks at every revision of our packages once.
func (r *Runtime) Once(ctx context.Context) error {
	fl := &pkgv1.FunctionRevisionList{}
	if err := r.Kube.List(ctx, fl); err != nil {
		return err
	}
	pvl := &pkgv1.ProviderRevisionList{}
	if err := r.Kube.List(ctx, pvl); err != nil {
		return err
	}
	var revs []pkgv1.PackageRevisionWithRuntime
	for i := range fl.Items {
		revs = append(revs, &fl.Items[i])
	}
	for i := range pvl.Items {
		revs = append(revs, &pvl.Items[i])
	}
	for _, rev := range revs {
		parent := rev.GetLabels()[labelPackageName]
		bin, ok := BinaryFor(parent)
		if !ok {
			continue
		}
		if err := r.revision(ctx, rev, parent, bin); err != nil {
			return fmt.Errorf("revision %s: %w", rev.GetName(), err)
		}
	}
	return nil
}

// BinaryFor says which of our binaries runs a package, by the package's
// object name (its repository path as a DNS label).
func BinaryFor(pkg string) (name string, ok bool) {
	switch {
	case strings.HasSuffix(pkg, "function-mcp-server"):
		return "function", true
	case strings.HasSuffix(pkg, "provider-mcp"):
		return "provider", true
	}
	return "", false
}

func (r *Runtime) revision(ctx context.Context, rev pkgv1.PackageRevisionWithRuntime, parent, bin string) error {
	pr, isProvider := rev.(*pkgv1.ProviderRevision)
	if rev.GetDesiredState() != pkgv1.PackageRevisionActive {
		if isProvider {
			return r.retire(ctx, pr)
		}
		return nil
	}
	// The name the Deployment runtime would give it: with the External
	// runtime the package manager leaves spec.tlsServerSecretName empty.
	secret := *pkgv1.GetSecretNameWithSuffix(parent, pkgv1.TLSServerSecretNameSuffix)
	if err := r.tlsServerSecret(ctx, secret); err != nil {
		return err
	}
	if err := r.report(ctx, rev, secret, bin); err != nil {
		return err
	}
	// The provider runs as the ServiceAccount Crossplane would give it; a
	// provider running as another one (an upgrade changed it) restarts.
	var sa string
	if isProvider {
		var err error
		if sa, err = r.identity(ctx, pr); err != nil {
			return err
		}
		if r.Procs.Running(bin) && r.runsAs[bin] != sa {
			r.Procs.Stop(bin, stopWait)
		}
	}
	if !r.wanted(bin) {
		return nil
	}
	return r.start(ctx, bin, secret, sa)
}

// report writes what the Deployment runtime would on the revision: its TLS
// server secret, the function's endpoint and whether the runtime is healthy.
func (r *Runtime) report(ctx context.Context, rev pkgv1.PackageRevisionWithRuntime, secret, bin string) error {
	changed := false
	if o := rev.GetObservedTLSServerSecretName(); o == nil || *o != secret {
		rev.SetObservedTLSServerSecretName(&secret)
		changed = true
	}
	if fr, ok := rev.(*pkgv1.FunctionRevision); ok && fr.Status.Endpoint != "dns:///"+r.FunctionAddr {
		fr.Status.Endpoint = "dns:///" + r.FunctionAddr
		changed = true
	}
	if rev.GetCondition(pkgv1.TypeRuntimeHealthy).Status != corev1.ConditionTrue && r.serving(ctx, bin) {
		rev.SetConditions(pkgv1.RuntimeHealthy())
		changed = true
	}
	if !changed {
		return nil
	}
	if err := r.Kube.Status().Update(ctx, rev); err != nil && !kerrors.IsConflict(err) {
		return fmt.Errorf("cannot report the runtime on the revision: %w", err)
	}
	return nil
}

// wanted stops a process that local hold holds down, or that make run
// rebuilt, and says whether it should run now.
func (r *Runtime) wanted(bin string) bool {
	// The pid file goes too, which is how hold knows the process is down.
	if r.Paths.Held(bin) {
		if r.Procs.Running(bin) {
			r.Procs.Stop(bin, stopWait)
		}
		_ = os.Remove(r.Paths.PidFile(bin))
		if _, err := os.Stat(r.Paths.HoldSeenFile(bin)); err != nil {
			_ = os.WriteFile(r.Paths.HoldSeenFile(bin), nil, 0o600)
		}
		return false
	}
	if r.Procs.Stale(bin) {
		r.Procs.Stop(bin, stopWait)
	}
	return !r.Procs.Running(bin)
}

// start runs bin with its flags and identity; the provider as sa.
func (r *Runtime) start(ctx context.Context, bin, secret, sa string) error {
	dir := filepath.Join(r.Paths.Certs(), bin)
	var args, env []string
	switch bin {
	case "function":
		args = []string{"--address=" + r.FunctionAddr, "--tls-certs-dir=" + dir}
		// It needs no Kubernetes access and gets none.
		env = []string{"KUBECONFIG="}
	case "provider":
		args = r.ProviderArgs
		var err error
		if env, err = r.providerEnv(ctx, sa); err != nil {
			return err
		}
	}
	// The certificates go to disk only when the process starts: this loop
	// runs every two seconds.
	if err := SecretToDir(ctx, r.Kube, r.Namespace, secret, dir); err != nil {
		return err
	}
	if _, err := r.Procs.Start(bin, r.Paths.Binary(bin), args, env); err != nil {
		return err
	}
	if r.runsAs == nil {
		r.runsAs = map[string]string{}
	}
	r.runsAs[bin] = sa
	return nil
}
