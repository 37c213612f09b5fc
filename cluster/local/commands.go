package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/crossmcp/provider-mcp/cluster/local/demo"
	"github.com/crossmcp/provider-mcp/cluster/local/install"
	"github.com/crossmcp/provider-mcp/cluster/local/proc"
)

type startCmd struct {
	Timeout time.Duration `default:"10m" help:"How long to wait for the plane to serve."`
}

// Run starts the supervisor in the background, unless one runs, and waits
// until it reports the plane ready, printing its progress.
func (c *startCmd) Run(p *paths) error {
	if pid, ok := supervisorPID(p); ok {
		if ph, _ := os.ReadFile(p.PhaseFile()); string(ph) == "ready" {
			fmt.Printf("The local control plane already runs (supervisor pid %d).\n", pid)
			return nil
		}
		return waitReady(p, pid, c.Timeout)
	}
	for _, t := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "crossplane-core", "thv-proxyrunner"} {
		if _, err := os.Stat(p.Tool(t)); err != nil {
			return fmt.Errorf("%s is missing from %s: run cluster/tools/build.sh (make run does)", t, p.Tools)
		}
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	logf, err := os.OpenFile(p.Log("supervisor"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	_ = os.Remove(p.PhaseFile())
	cmd := exec.Command(self, "--state="+p.State, "--tools="+p.Tools, "--bin="+p.Bin, "supervise")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("cannot start the supervisor: %w", err)
	}
	pid := cmd.Process.Pid
	_ = cmd.Process.Release()
	fmt.Printf("Starting the local control plane (supervisor pid %d, logs in %s).\n", pid, p.Logs())
	return waitReady(p, pid, c.Timeout)
}

// waitReady follows the supervisor's phases until ready or failed.
func waitReady(p *paths, pid int, timeout time.Duration) error {
	last := ""
	err := wait.PollUntilContextTimeout(context.Background(), 500*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
		b, _ := os.ReadFile(p.PhaseFile())
		ph := string(b)
		if ph != last && ph != "" {
			fmt.Println("  " + ph)
			last = ph
		}
		switch {
		case ph == "ready":
			return true, nil
		case strings.HasPrefix(ph, "failed"):
			return false, fmt.Errorf("the local control plane did not start: %s (logs in %s)", ph, p.Logs())
		case syscall.Kill(pid, 0) != nil:
			return false, fmt.Errorf("the supervisor exited; see %s", p.Log("supervisor"))
		}
		return false, nil
	})
	if wait.Interrupted(err) {
		return fmt.Errorf("the local control plane did not start within %s (logs in %s)", timeout, p.Logs())
	}
	return err
}

// supervisorPID is the running supervisor's pid.
func supervisorPID(p *paths) (int, bool) {
	b, err := os.ReadFile(p.PidFile("supervisor"))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, false
	}
	self, _ := os.Executable()
	if !proc.PidAlive(pid, filepath.Dir(self)) {
		return 0, false
	}
	return pid, true
}

type stopCmd struct{}

// Run stops the supervisor, which stops its children; then makes sure no
// process the plane started survives, by pid, and only those.
func (c *stopCmd) Run(p *paths) error { //nolint:unparam // Kong runs commands that return an error.
	if pid, ok := supervisorPID(p); ok {
		fmt.Printf("Stopping the local control plane (supervisor pid %d).\n", pid)
		_ = syscall.Kill(pid, syscall.SIGTERM)
		// Up to 30 s for it to stop its children; leftovers are killed below.
		_ = wait.PollUntilContextTimeout(context.Background(), 250*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
			return syscall.Kill(pid, 0) != nil, nil
		})
	} else {
		fmt.Println("No local control plane runs.")
	}
	files, _ := filepath.Glob(filepath.Join(p.Pids(), "*.pid"))
	self, _ := os.Executable()
	for _, f := range files {
		b, _ := os.ReadFile(f)
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err == nil && proc.PidAlive(pid, p.Tools, p.Bin, filepath.Dir(self)) {
			fmt.Printf("  killing leftover %s (pid %d)\n", strings.TrimSuffix(filepath.Base(f), ".pid"), pid)
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		_ = os.Remove(f)
	}
	_ = os.Remove(p.PhaseFile())
	// Holds and requests are about the plane that ran: the next one starts clean.
	_ = os.RemoveAll(p.Control())
	return nil
}

type statusCmd struct{}

// Run prints the supervisor's phase and each process.
func (c *statusCmd) Run(p *paths) error {
	pid, ok := supervisorPID(p)
	if !ok {
		fmt.Println("The local control plane is not running. Start it with make run.")
		return errors.New("not running")
	}
	ph, _ := os.ReadFile(p.PhaseFile())
	fmt.Printf("supervisor  pid %-7d %s\n", pid, ph)
	files, _ := filepath.Glob(filepath.Join(p.Pids(), "*.pid"))
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".pid")
		if name == "supervisor" {
			continue
		}
		b, _ := os.ReadFile(f)
		cpid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		state := "running"
		if !proc.PidAlive(cpid, p.Tools, p.Bin) {
			state = "NOT RUNNING"
		}
		fmt.Printf("%-24s pid %-7d %s\n", name, cpid, state)
	}
	for _, name := range holdable {
		if p.Held(name) {
			fmt.Printf("%-24s held down (local release %s)\n", name, name)
		}
	}
	fmt.Printf("\nexport KUBECONFIG=%s\n", p.Kubeconfig())
	return nil
}

type upCmd struct {
	Timeout time.Duration `default:"10m" help:"How long each step may take."`
}

// Run is make run: start, install, apply, summary, call.
func (c *upCmd) Run(p *paths) error {
	if err := (&startCmd{Timeout: c.Timeout}).Run(p); err != nil {
		return err
	}
	if err := (&installCmd{Timeout: c.Timeout}).Run(p); err != nil {
		return err
	}
	if err := (&applyCmd{Timeout: c.Timeout}).Run(p); err != nil {
		return err
	}
	if err := (&summaryCmd{}).Run(p); err != nil {
		return err
	}
	return (&callCmd{Namespace: demo.Namespace, Name: demo.XR, Subject: "alice", Audience: "mcp-fetch", Timeout: 2 * time.Minute}).Run(p)
}

// ctx is a context for one command.
func ctx(timeout time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), timeout)
}

type installCmd struct {
	Timeout   time.Duration `default:"10m" help:"How long to wait for the packages to become healthy."`
	Published string        `help:"Install this version of the packages, pushed to the local registry already (make publish REGISTRY=127.0.0.1:5000/crossmcp), instead of building them."`
}

// Run builds, pushes and installs the packages (package install).
func (c *installCmd) Run(p *paths) error {
	ctx, cancel := ctx(c.Timeout)
	defer cancel()
	return install.Installer{Paths: p, Registry: registryAddr, Published: c.Published}.Install(ctx, c.Timeout)
}
