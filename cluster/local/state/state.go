// Package state says where the local control plane keeps what it runs: its
// state folder (logs, pid files, certificates, kubeconfigs, control
// requests), the pinned tools and our binaries. Every part of the plane
// finds its files through Paths.
package state

import (
	"os"
	"path/filepath"
)

// Paths are the plane's folders, absolute.
type Paths struct {
	// State holds logs, pids, certs, kubeconfigs and control requests.
	State string
	// Tools holds the pinned tools (cluster/tools/build.sh).
	Tools string
	// Bin holds the provider, function and other binaries (make build).
	Bin string
	// Root is the repository the plane runs from.
	Root string
}

// New makes the folders absolute and creates the state's.
func New(stateDir, tools, bin, root string) (*Paths, error) {
	p := &Paths{}
	for dst, src := range map[*string]string{&p.State: stateDir, &p.Tools: tools, &p.Bin: bin, &p.Root: root} {
		abs, err := filepath.Abs(src)
		if err != nil {
			return nil, err
		}
		*dst = abs
	}
	for _, d := range []string{p.State, p.Logs(), p.Pids(), p.Certs(), p.Control()} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// Logs is the folder of the components' logs.
func (p *Paths) Logs() string { return filepath.Join(p.State, "logs") }

// Pids is the folder of the components' pid files.
func (p *Paths) Pids() string { return filepath.Join(p.State, "pids") }

// Certs is the folder of the plane's PKI.
func (p *Paths) Certs() string { return filepath.Join(p.State, "certs") }

// Kubeconfig is the admin kubeconfig.
func (p *Paths) Kubeconfig() string { return filepath.Join(p.State, "kubeconfig") }

// Identities is the folder of the kubeconfigs of Crossplane's, its RBAC
// manager's and the provider's ServiceAccounts.
func (p *Paths) Identities() string { return filepath.Join(p.State, "identities") }

// Tool is a pinned tool.
func (p *Paths) Tool(name string) string { return filepath.Join(p.Tools, name) }

// Binary is one of our binaries.
func (p *Paths) Binary(name string) string { return filepath.Join(p.Bin, name) }

// Log is a component's log file.
func (p *Paths) Log(name string) string { return filepath.Join(p.Logs(), name+".log") }

// PidFile is a component's pid file.
func (p *Paths) PidFile(name string) string { return filepath.Join(p.Pids(), name+".pid") }

// PhaseFile holds what the supervisor is doing ("ready" once it serves).
func (p *Paths) PhaseFile() string { return filepath.Join(p.State, "phase") }

// Control is the folder of requests to the supervisor (fault commands).
func (p *Paths) Control() string { return filepath.Join(p.State, "control") }

// Request is a request file to the supervisor.
func (p *Paths) Request(name string) string { return filepath.Join(p.Control(), name) }

// HoldFile, while it exists, keeps a component down.
func (p *Paths) HoldFile(name string) string { return filepath.Join(p.Control(), "hold-"+name) }

// HoldSeenFile is where the package runtime acknowledges a hold, once it
// has stopped the component.
func (p *Paths) HoldSeenFile(name string) string { return p.HoldFile(name) + ".seen" }

// Held reports whether local hold keeps a component down.
func (p *Paths) Held(name string) bool {
	_, err := os.Stat(p.HoldFile(name))
	return err == nil
}

// AppendLog appends b to a component's log file.
func (p *Paths) AppendLog(name string, b []byte) error {
	f, err := os.OpenFile(p.Log(name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.Write(b)
	return err
}
