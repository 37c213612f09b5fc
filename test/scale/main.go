// Command scale is provider-mcp's scale harness. It starts the embedded
// control plane (cluster/local) in a state folder of its own, installs the
// packages and measures, against the real API server:
//
//   - provider convergence: N ExternalAuthConfigs with their Secrets, in a
//     cluster holding 5,000 unrelated 10 KiB Secrets, until all are Ready with connection secrets, against the floor of a plain client
//     making the same writes, and the provider's peak RSS;
//   - steady state: the provider's API requests over two poll intervals;
//   - XR throughput: M MCPServers created at once until all are Ready;
//   - rotation latency: client Secret change to new pod-template annotation,
//     and the provider's share of it (to the config's new hash in status).
//
// It writes report.md and report.json, with the go test -bench results given
// by --micro. make bench runs it; make test does not.
package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"

	"github.com/alecthomas/kong"
	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/crossmcp/provider-mcp/test/scale/report"
)

type cli struct {
	Configs   int           `default:"200" help:"ExternalAuthConfigs to converge (the issue's large run is 1000)."`
	Servers   int           `default:"50" help:"MCPServers to create at once."`
	Unrelated int           `default:"5000" help:"Secrets of 10 KiB no config references, created before the configs: the provider must not hold them."`
	Rotations int           `default:"20" help:"Client Secret rotations to time, one per MCPServer."`
	Poll      time.Duration `default:"30s" help:"Poll interval of the provider and Crossplane; steady state is watched for two."`
	Micro     string        `type:"path" help:"go test -bench -benchmem output to include in the report."`
	Out       string        `default:"_output/bench" type:"path" help:"Folder for report.md and report.json."`
	State     string        `default:"_output/bench-plane" type:"path" help:"State folder of the harness's control plane."`
	Tools     string        `default:".cache/tools/bin" type:"path" help:"Folder of the pinned tools."`
	Bin       string        `default:"_output/bin" type:"path" help:"Folder of the local, provider and function binaries."`
	Keep      bool          `help:"Leave the control plane running afterwards."`
	Timeout   time.Duration `default:"40m" help:"Give up after this long."`
}

func main() {
	var c cli
	ctrllog.SetLogger(logr.Discard())
	kctx := kong.Parse(&c, kong.Name("scale"), kong.Description("provider-mcp's scale harness: measures the provider and function on the embedded control plane and writes a report."))
	kctx.FatalIfErrorf(c.run())
}

func (c *cli) run() error {
	if c.Configs > 0 && (c.Rotations > c.Servers || c.Servers > c.Configs) {
		return fmt.Errorf("need rotations <= servers <= configs, got %d, %d, %d", c.Rotations, c.Servers, c.Configs)
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.Timeout)
	defer cancel()

	r := report.Report{
		Date:     time.Now(),
		Machine:  report.Machine{Cores: runtime.NumCPU(), OS: runtime.GOOS, Arch: runtime.GOARCH, GoVersion: runtime.Version()},
		Versions: versions(c.Bin, c.Tools),
	}
	if c.Micro != "" {
		f, err := os.Open(c.Micro)
		if err != nil {
			return err
		}
		r.Micro, err = report.ParseMicro(f)
		_ = f.Close()
		if err != nil {
			return fmt.Errorf("cannot parse %s: %w", c.Micro, err)
		}
	}
	if c.Configs > 0 {
		if err := c.measure(ctx, &r); err != nil {
			return err
		}
	}
	return write(c.Out, r)
}

func (c *cli) measure(ctx context.Context, r *report.Report) error {
	// An earlier run that timed out or kept its plane left it running:
	// stop it by its pid files before deleting them.
	_, _ = c.local("stop")
	_ = os.RemoveAll(c.State)
	if !c.Keep {
		defer func() { _, _ = c.local("stop") }()
	}
	for _, step := range []string{"start", "install"} {
		logf("local %s", step)
		if out, err := c.local(step); err != nil {
			return fmt.Errorf("local %s: %w\n%s", step, err, out)
		}
	}
	// The harness's watches end before the plane stops.
	hctx, cancel := context.WithCancel(ctx)
	defer cancel()
	h, err := newHarness(hctx, c)
	if err != nil {
		return err
	}
	return h.run(hctx, r)
}

// local runs the plane's command against the harness's state folder.
func (c *cli) local(args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(c.Bin, "local"), append([]string{"--state=" + c.State, "--tools=" + c.Tools, "--bin=" + c.Bin}, args...)...)
	cmd.Env = append(os.Environ(), "LOCAL_POLL="+c.Poll.String())
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func write(dir string, r report.Report) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	var md, js bytes.Buffer
	if err := r.WriteMarkdown(&md); err != nil {
		return err
	}
	if err := r.WriteJSON(&js); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "report.md"), md.Bytes(), 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "report.json"), js.Bytes(), 0o600); err != nil {
		return err
	}
	fmt.Print(md.String())
	logf("wrote %s and %s", filepath.Join(dir, "report.md"), filepath.Join(dir, "report.json"))
	return nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s scale: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}
