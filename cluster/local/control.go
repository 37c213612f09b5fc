package main

// Controls for fault tests on a running plane: restart one of its
// components, hold the provider or function down. Both go through files in
// the state folder, which the supervisor reads: it owns the processes.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/crossmcp/provider-mcp/cluster/local/pkgruntime"
	"github.com/crossmcp/provider-mcp/cluster/local/proc"
)

type restartCmd struct {
	Name    string        `arg:"" enum:"etcd,kube-apiserver,kube-controller-manager,kube-scheduler,crossplane,crossplane-rbac-manager" help:"The component to restart: ${enum}."`
	Timeout time.Duration `default:"3m" help:"How long to wait until it serves again."`
}

// Run asks the supervisor to stop the component and start it again, and
// waits for its answer: "ok" once it serves again, or what went wrong.
func (c *restartCmd) Run(p *paths) error {
	pid, ok := supervisorPID(p)
	if !ok {
		return errors.New("the local control plane is not running")
	}
	req := p.Request("restart-" + c.Name)
	_ = os.Remove(req + ".done")
	if err := os.WriteFile(req, nil, 0o600); err != nil {
		return err
	}
	fmt.Printf("Restarting %s.\n", c.Name)
	deadline := time.Now().Add(c.Timeout)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(req + ".done"); err == nil {
			_ = os.Remove(req + ".done")
			if answer := string(b); answer != "ok" {
				return fmt.Errorf("cannot restart %s: %s", c.Name, answer)
			}
			fmt.Printf("%s serves again.\n", c.Name)
			return nil
		}
		if syscall.Kill(pid, 0) != nil {
			return fmt.Errorf("the supervisor exited; see %s", p.Log("supervisor"))
		}
		time.Sleep(200 * time.Millisecond)
	}
	_ = os.Remove(req)
	return fmt.Errorf("%s did not serve again within %s (logs in %s)", c.Name, c.Timeout, p.Logs())
}

// control serves the restart requests left in the state folder until ctx
// ends, one at a time, answering each in <request>.done.
func (pl *plane) control(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(300 * time.Millisecond):
		}
		reqs, _ := filepath.Glob(pl.p.Request("restart-*"))
		for _, r := range reqs {
			if strings.HasSuffix(r, ".done") || strings.HasSuffix(r, ".tmp") {
				continue
			}
			name := strings.TrimPrefix(filepath.Base(r), "restart-")
			answer := "ok"
			if err := pl.restart(ctx, name); err != nil {
				answer = err.Error()
			}
			// Renamed into place, so the command never reads half an answer.
			_ = os.WriteFile(r+".tmp", []byte(answer), 0o600)
			_ = os.Rename(r+".tmp", r+".done")
			_ = os.Remove(r)
		}
	}
}

// restart stops one component and starts it again, and waits until it
// serves. The provider and function belong to the package runtime, which
// restarts them by itself: hold and release them instead.
func (pl *plane) restart(ctx context.Context, name string) error {
	if slices.Contains(holdable, name) {
		return fmt.Errorf("%s is run by the package runtime, which restarts it when it dies: use local hold and local release", name)
	}
	fmt.Printf("%s restarting %s\n", time.Now().Format(time.TimeOnly), name)
	pr, err := pl.procs.Restart(name, 15*time.Second)
	if err != nil {
		return err
	}
	check, err := pl.readiness(name)
	if err != nil {
		return err
	}
	if err := proc.WaitFor(ctx, name, pr, 2*time.Minute, check); err != nil {
		return err
	}
	fmt.Printf("%s %s serves again\n", time.Now().Format(time.TimeOnly), name)
	return nil
}

// readiness is how the supervisor knows a component serves: its health
// endpoint, or, for those that have none on loopback, that it runs.
func (pl *plane) readiness(name string) (func(context.Context) error, error) {
	switch name {
	case "etcd":
		return proc.HTTPOK(http.DefaultClient, etcdClientURL+"/health"), nil
	case "kube-apiserver":
		admin, err := pl.adminHTTP()
		if err != nil {
			return nil, err
		}
		return proc.HTTPOK(admin, apiserverURL+"/readyz"), nil
	case "crossplane":
		return proc.HTTPOK(&http.Client{Timeout: 5 * time.Second}, "http://127.0.0.1:"+coreHealthPort+"/healthz"), nil
	case "crossplane-rbac-manager":
		return proc.HTTPOK(&http.Client{Timeout: 5 * time.Second}, "http://127.0.0.1:"+rbacManagerMetricsPort+"/metrics"), nil
	}
	return func(context.Context) error { return nil }, nil
}

// holdable are the processes the package runtime runs, which hold and
// release control.
var holdable = []string{"provider", "function"}

type holdCmd struct {
	Name    string        `arg:"" enum:"provider,function" help:"The process to hold down: ${enum}."`
	Timeout time.Duration `default:"1m" help:"How long to wait until it has stopped."`
}

// Run leaves a hold file, which the package runtime honours: it stops the
// process and does not start it again until local release.
func (c *holdCmd) Run(p *paths) error {
	if err := os.WriteFile(p.HoldFile(c.Name), nil, 0o600); err != nil {
		return err
	}
	fmt.Printf("Holding %s down until local release %s.\n", c.Name, c.Name)
	if _, ok := supervisorPID(p); !ok {
		return nil
	}
	// One turn of the runtime loop, which may have looked before the hold.
	time.Sleep(pkgruntime.Loop + 500*time.Millisecond)
	return waitPID(p, c.Name, c.Timeout, false)
}

type releaseCmd struct {
	Name    string        `arg:"" enum:"provider,function" help:"The process to release: ${enum}."`
	Timeout time.Duration `default:"1m" help:"How long to wait until it runs again."`
}

// Run removes the hold; the package runtime starts the process again.
func (c *releaseCmd) Run(p *paths) error {
	if err := os.Remove(p.HoldFile(c.Name)); err != nil && !os.IsNotExist(err) {
		return err
	}
	fmt.Printf("Released %s.\n", c.Name)
	if _, ok := supervisorPID(p); !ok {
		return nil
	}
	return waitPID(p, c.Name, c.Timeout, true)
}

// waitPID waits until the named process of ours runs (its pid file names a
// live process), or until it is gone (no pid file: the supervisor removes
// it when it stops one).
func waitPID(p *paths, name string, timeout time.Duration, running bool) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(p.PidFile(name))
		if !running && os.IsNotExist(err) {
			return nil
		}
		if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); running && err == nil && perr == nil && proc.PidAlive(pid, p.Bin) {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	if running {
		return fmt.Errorf("%s does not run within %s: are the packages installed? (logs in %s)", name, timeout, p.Logs())
	}
	return fmt.Errorf("%s did not stop within %s (logs in %s)", name, timeout, p.Logs())
}
