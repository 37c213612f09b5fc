// Package proc is the local plane's process supervisor: it runs each
// component as a child with its own log, pid file and process group, stops
// them in reverse order, restarts one for the fault tests, and waits for
// one to serve.
package proc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/crossmcp/provider-mcp/cluster/local/state"
)

// A Proc is a child process of the supervisor, with its own log and pid file.
type Proc struct {
	name    string
	bin     string
	args    []string
	env     []string
	started time.Time
	cmd     *exec.Cmd
	done    chan struct{}
	err     error
}

// A Set runs and stops the plane's processes. Children get their own process
// group so a terminal's ^C reaches only the supervisor, which stops them in
// reverse order.
type Set struct {
	p *state.Paths

	mu    sync.Mutex
	order []*Proc
	byKey map[string]*Proc
}

// NewSet is an empty set whose logs and pid files go where p says.
func NewSet(p *state.Paths) *Set { return &Set{p: p, byKey: map[string]*Proc{}} }

// Start runs bin with args and env added to the supervisor's environment.
func (ps *Set) Start(name, bin string, args, env []string) (*Proc, error) {
	logf, err := os.OpenFile(ps.p.Log(name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(logf, "\n==== %s %s %s\n", time.Now().Format(time.RFC3339), bin, strings.Join(args, " "))
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		return nil, fmt.Errorf("cannot start %s: %w", name, err)
	}
	pr := &Proc{name: name, bin: bin, args: args, env: env, started: time.Now(), cmd: cmd, done: make(chan struct{})}
	_ = os.WriteFile(ps.p.PidFile(name), []byte(strconv.Itoa(cmd.Process.Pid)), 0o600)
	go func() {
		pr.err = cmd.Wait()
		_ = logf.Close()
		close(pr.done)
	}()
	ps.mu.Lock()
	// A process started again keeps its place, so stopAll still stops it
	// before what it depends on.
	if i := slices.IndexFunc(ps.order, func(o *Proc) bool { return o.name == name }); i >= 0 {
		ps.order[i] = pr
	} else {
		ps.order = append(ps.order, pr)
	}
	ps.byKey[name] = pr
	ps.mu.Unlock()
	return pr, nil
}

// Restart stops the named process (SIGTERM, SIGKILL after grace) and starts
// it again with the same binary, arguments and environment.
func (ps *Set) Restart(name string, grace time.Duration) (*Proc, error) {
	ps.mu.Lock()
	pr, ok := ps.byKey[name]
	ps.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("the plane runs no process %s", name)
	}
	ps.Stop(name, grace)
	return ps.Start(name, pr.bin, pr.args, pr.env)
}

// Running reports whether the named process runs.
func (ps *Set) Running(name string) bool {
	ps.mu.Lock()
	pr, ok := ps.byKey[name]
	ps.mu.Unlock()
	if !ok {
		return false
	}
	select {
	case <-pr.done:
		return false
	default:
		return true
	}
}

// Stale reports whether the named process runs a binary that was rebuilt
// since it started.
func (ps *Set) Stale(name string) bool {
	ps.mu.Lock()
	pr, ok := ps.byKey[name]
	ps.mu.Unlock()
	if !ok {
		return false
	}
	fi, err := os.Stat(pr.bin)
	return err == nil && fi.ModTime().After(pr.started)
}

// Stop ends one process: SIGTERM to its group, SIGKILL after grace.
func (ps *Set) Stop(name string, grace time.Duration) {
	ps.mu.Lock()
	pr, ok := ps.byKey[name]
	ps.mu.Unlock()
	if !ok {
		return
	}
	pgid := pr.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-pr.done:
	case <-time.After(grace):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-pr.done
	}
	_ = os.Remove(ps.p.PidFile(name))
}

// StopAll ends every process, last started first.
func (ps *Set) StopAll() {
	ps.mu.Lock()
	order := append([]*Proc(nil), ps.order...)
	ps.mu.Unlock()
	for i := len(order) - 1; i >= 0; i-- {
		ps.Stop(order[i].name, 15*time.Second)
	}
}

// WaitFor polls check until it returns nil, the process dies or ctx ends.
func WaitFor(ctx context.Context, what string, pr *Proc, timeout time.Duration, check func(context.Context) error) error {
	var last error
	err := wait.PollUntilContextTimeout(ctx, 300*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		if pr != nil {
			select {
			case <-pr.done:
				return false, fmt.Errorf("%s exited (%w) before it was ready; see %s", pr.name, pr.err, filepath.Join("logs", pr.name+".log"))
			default:
			}
		}
		last = check(ctx)
		return last == nil, nil
	})
	if err != nil && last != nil && wait.Interrupted(err) {
		return fmt.Errorf("%s: not ready within %s: %w", what, timeout, errors.Join(last, err))
	}
	return err
}

// PidAlive reports whether a pid from a pid file still runs one of the
// plane's binaries, so a recycled pid is never signalled.
func PidAlive(pid int, dirs ...string) bool {
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return false
	}
	for _, d := range dirs {
		if strings.HasPrefix(exe, d+string(os.PathSeparator)) {
			return true
		}
	}
	return false
}

// HTTPOK is a WaitFor check: GET url answers 200.
func HTTPOK(c *http.Client, url string) func(context.Context) error {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return nil
	}
}
