package proc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crossmcp/provider-mcp/cluster/local/state"
)

// testSet is a state folder in a temporary directory, with a copy of sleep
// to run.
func testSet(t *testing.T) (*state.Paths, string) {
	t.Helper()
	dir := t.TempDir()
	p, err := state.New(filepath.Join(dir, "state"), filepath.Join(dir, "bin"), filepath.Join(dir, "bin"), dir)
	if err != nil {
		t.Fatal(err)
	}
	src, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatal("no sleep binary")
	}
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(p.Bin, 0o750); err != nil {
		t.Fatal(err)
	}
	sleep := filepath.Join(p.Bin, "sleep")
	if err := os.WriteFile(sleep, b, 0o700); err != nil {
		t.Fatal(err)
	}
	return p, sleep
}

func pidFile(t *testing.T, p *state.Paths, name string) int {
	t.Helper()
	b, err := os.ReadFile(p.PidFile(name))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

func TestProcsRestartKeepsOrderAndArgs(t *testing.T) {
	p, sleep := testSet(t)
	ps := NewSet(p)
	t.Cleanup(ps.StopAll)
	for _, n := range []string{"first", "second", "third"} {
		if _, err := ps.Start(n, sleep, []string{"60"}, []string{"X=" + n}); err != nil {
			t.Fatal(err)
		}
	}
	before := pidFile(t, p, "second")
	pr, err := ps.Restart("second", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if after := pidFile(t, p, "second"); after == before || after != pr.cmd.Process.Pid {
		t.Errorf("pid file says %d after restart, was %d, new process %d", after, before, pr.cmd.Process.Pid)
	}
	if !ps.Running("second") || !slices.Equal(pr.args, []string{"60"}) || !slices.Equal(pr.env, []string{"X=second"}) {
		t.Errorf("restarted process: running %t, args %v, env %v", ps.Running("second"), pr.args, pr.env)
	}
	var order []string
	for _, o := range ps.order {
		order = append(order, o.name)
	}
	if !slices.Equal(order, []string{"first", "second", "third"}) {
		t.Errorf("stop order after restart %v, want the start order kept", order)
	}
	if _, err := ps.Restart("missing", time.Second); err == nil {
		t.Error("restarting a process the plane does not run: want an error")
	}
}

func TestWaitFor(t *testing.T) {
	p, sleep := testSet(t)
	ps := NewSet(p)
	t.Cleanup(ps.StopAll)
	exits, err := ps.Start("exits", sleep, []string{"0"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	runs, err := ps.Start("runs", sleep, []string{"60"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	notYet := func(context.Context) error { return errors.New("not serving") }
	cases := map[string]struct {
		reason string
		pr     *Proc
		check  func(context.Context) error
		want   string
	}{
		"Serves":   {reason: "A check that passes ends the wait.", pr: runs, check: func(context.Context) error { return nil }},
		"Exited":   {reason: "A process that exits ends the wait, naming its log.", pr: exits, check: notYet, want: "exits exited"},
		"TimesOut": {reason: "A process that never serves is reported with the last check's error.", pr: runs, check: notYet, want: "runs: not ready within 1s: not serving"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := WaitFor(context.Background(), tc.pr.name, tc.pr, time.Second, tc.check)
			if got := fmt.Sprint(err); (tc.want == "" && err != nil) || (tc.want != "" && !strings.Contains(got, tc.want)) {
				t.Errorf("%s\nWaitFor: %v, want %q", tc.reason, err, tc.want)
			}
		})
	}
}
