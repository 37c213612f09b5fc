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

	"k8s.io/apimachinery/pkg/util/wait"

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
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, c.Timeout, true, func(context.Context) (bool, error) {
		b, err := os.ReadFile(req + ".done")
		switch {
		case err == nil:
			_ = os.Remove(req + ".done")
			if answer := string(b); answer != "ok" {
				return false, fmt.Errorf("cannot restart %s: %s", c.Name, answer)
			}
			return true, nil
		case syscall.Kill(pid, 0) != nil:
			return false, fmt.Errorf("the supervisor exited; see %s", p.Log("supervisor"))
		}
		return false, nil
	})
	if wait.Interrupted(err) {
		_ = os.Remove(req)
		return fmt.Errorf("%s did not serve again within %s (logs in %s)", c.Name, c.Timeout, p.Logs())
	}
	if err != nil {
		return err
	}
	fmt.Printf("%s serves again.\n", c.Name)
	return nil
}

// control serves the restart requests left in the state folder until ctx
// ends, one at a time, answering each in <request>.done.
func (pl *plane) control(ctx context.Context) {
	wait.UntilWithContext(ctx, pl.serveRequests, 300*time.Millisecond)
}

// serveRequests answers the restart requests waiting now.
func (pl *plane) serveRequests(ctx context.Context) {
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
	_ = os.Remove(p.HoldSeenFile(c.Name))
	if err := os.WriteFile(p.HoldFile(c.Name), nil, 0o600); err != nil {
		return err
	}
	fmt.Printf("Holding %s down until local release %s.\n", c.Name, c.Name)
	if _, ok := supervisorPID(p); !ok {
		return nil
	}
	// The runtime may have looked before the hold: wait until it says it
	// honours it (it has stopped the process by then), not for a fixed time.
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, c.Timeout, true, func(context.Context) (bool, error) {
		_, err := os.Stat(p.HoldSeenFile(c.Name))
		return err == nil, nil
	})
	if err != nil {
		return fmt.Errorf("the package runtime did not take up the hold of %s within %s (logs in %s)", c.Name, c.Timeout, p.Logs())
	}
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
	_ = os.Remove(p.HoldSeenFile(c.Name))
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
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
		b, err := os.ReadFile(p.PidFile(name))
		if !running {
			return os.IsNotExist(err), nil
		}
		pid, perr := strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil && perr == nil && proc.PidAlive(pid, p.Bin), nil
	})
	if err == nil {
		return nil
	}
	if running {
		return fmt.Errorf("%s does not run within %s: are the packages installed? (logs in %s)", name, timeout, p.Logs())
	}
	return fmt.Errorf("%s did not stop within %s (logs in %s)", name, timeout, p.Logs())
}
