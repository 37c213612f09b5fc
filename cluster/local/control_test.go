package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crossmcp/provider-mcp/cluster/local/proc"
)

// testPaths is a state folder in a temporary directory, with a copy of
// sleep as the one binary of the plane.
func testPaths(t *testing.T) (*paths, string) {
	t.Helper()
	dir := t.TempDir()
	p := &paths{State: filepath.Join(dir, "state"), Bin: filepath.Join(dir, "bin"), Tools: filepath.Join(dir, "bin")}
	for _, d := range []string{p.State, p.Bin, p.Logs(), p.Pids(), p.Certs(), p.Control()} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			t.Fatal(err)
		}
	}
	src, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep binary")
	}
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	sleep := filepath.Join(p.Bin, "sleep")
	if err := os.WriteFile(sleep, b, 0o700); err != nil {
		t.Fatal(err)
	}
	return p, sleep
}

func TestRestartRequest(t *testing.T) {
	p, sleep := testPaths(t)
	pl := &plane{p: p, procs: proc.NewSet(p)}
	t.Cleanup(pl.procs.StopAll)
	if _, err := pl.procs.Start("kube-scheduler", sleep, []string{"60"}, nil); err != nil {
		t.Fatal(err)
	}
	// The command talks to a live supervisor: this test process plays it.
	if err := os.WriteFile(p.PidFile("supervisor"), []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go pl.control(ctx)

	tests := map[string]struct {
		name    string
		wantErr string
	}{
		"a component":                {name: "kube-scheduler"},
		"the package runtime's own":  {name: "function", wantErr: "use local hold and local release"},
		"one the plane does not run": {name: "etcd", wantErr: "the plane runs no process etcd"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			before, _ := os.ReadFile(p.PidFile(tc.name))
			err := (&restartCmd{Name: tc.name, Timeout: 30 * time.Second}).Run(p)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("restart %s: got %v, want an error with %q", tc.name, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if after, _ := os.ReadFile(p.PidFile(tc.name)); string(after) == string(before) || !pl.procs.Running(tc.name) {
				t.Errorf("restart %s: pid %s -> %s, running %t", tc.name, before, after, pl.procs.Running(tc.name))
			}
		})
	}
	if left, _ := filepath.Glob(p.Request("*")); len(left) != 0 {
		t.Errorf("requests left behind: %v", left)
	}
}

func TestHoldAndRelease(t *testing.T) {
	p, sleep := testPaths(t)
	// Without a supervisor they only leave and remove the hold.
	if err := (&holdCmd{Name: "function"}).Run(p); err != nil {
		t.Fatal(err)
	}
	if !p.Held("function") || p.Held("provider") {
		t.Errorf("after hold function: function held %t, provider held %t", p.Held("function"), p.Held("provider"))
	}
	if err := (&releaseCmd{Name: "function"}).Run(p); err != nil {
		t.Fatal(err)
	}
	if p.Held("function") {
		t.Error("function still held after release")
	}
	if err := (&releaseCmd{Name: "function"}).Run(p); err != nil {
		t.Errorf("releasing what is not held: %v", err)
	}

	// waitPID follows the pid file the supervisor writes and removes.
	ps := proc.NewSet(p)
	t.Cleanup(ps.StopAll)
	if err := waitPID(p, "function", 300*time.Millisecond, true); err == nil {
		t.Error("waitPID running without a process: want a timeout")
	}
	if _, err := ps.Start("function", sleep, []string{"60"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := waitPID(p, "function", 5*time.Second, true); err != nil {
		t.Error(err)
	}
	if err := waitPID(p, "function", 300*time.Millisecond, false); err == nil {
		t.Error("waitPID stopped while the process runs: want a timeout")
	}
	ps.Stop("function", 5*time.Second)
	if err := waitPID(p, "function", 5*time.Second, false); err != nil {
		t.Error(err)
	}
}

func TestProviderArgs(t *testing.T) {
	base := []string{"--poll=1m", "--metrics-bind-address=" + providerMetrics, "--health-probe-bind-address=" + providerHealth}
	tests := map[string]struct {
		env  map[string]string
		want []string
	}{
		"defaults": {want: base},
		"shorter verification": {
			env:  map[string]string{"LOCAL_VERIFY_INTERVAL": "20s", "LOCAL_VERIFY_RETRY_INTERVAL": "10s"},
			want: append(slices.Clone(base), "--verify-interval=20s", "--verify-retry-interval=10s"),
		},
		"with a shorter poll": {
			env:  map[string]string{"LOCAL_POLL": "15s", "LOCAL_VERIFY_INTERVAL": "20s"},
			want: append([]string{"--poll=15s"}, append(slices.Clone(base[1:]), "--verify-interval=20s")...),
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			for _, k := range []string{"LOCAL_POLL", "LOCAL_VERIFY_INTERVAL", "LOCAL_VERIFY_RETRY_INTERVAL"} {
				t.Setenv(k, tc.env[k])
			}
			if got := providerArgs(); !slices.Equal(got, tc.want) {
				t.Errorf("providerArgs() = %v, want %v", got, tc.want)
			}
		})
	}
}
