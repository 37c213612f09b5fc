package podrunner

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// kind is what a pod runs here.
type kind string

const (
	none        kind = ""
	proxyRunner kind = "thv-proxyrunner"
	mcpServer   kind = "mcpecho"
)

// kindOf tells the proxy-runner pods function-mcp-server composes (container
// toolhive running `run`, ToolHive's labels) from the MCP server pods the
// runner's StatefulSets make (container mcp, label toolhive=true).
func kindOf(pod *corev1.Pod) kind {
	for _, c := range pod.Spec.Containers {
		switch {
		case c.Name == "toolhive" && len(c.Args) > 0 && c.Args[0] == "run" && pod.Labels["app.kubernetes.io/name"] == "mcpserver":
			return proxyRunner
		case c.Name == "mcp" && pod.Labels["toolhive"] == "true" && ownedBy(pod, "StatefulSet"):
			return mcpServer
		}
	}
	return none
}

func ownedBy(pod *corev1.Pod, kind string) bool {
	for _, o := range pod.OwnerReferences {
		if o.Kind == kind {
			return true
		}
	}
	return false
}

// address is where a pod's process listens: the loopback address of the
// ClusterIP of the first Service that selects the pod, and that Service's
// first target port.
func address(pod *corev1.Pod, svcs []corev1.Service) (string, int32, error) {
	for _, s := range svcs {
		if s.Namespace != pod.Namespace || len(s.Spec.Selector) == 0 || s.Spec.ClusterIP == "" || s.Spec.ClusterIP == corev1.ClusterIPNone {
			continue
		}
		if !labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(pod.Labels)) || len(s.Spec.Ports) == 0 {
			continue
		}
		ip, err := Loopback(s.Spec.ClusterIP)
		if err != nil {
			return "", 0, err
		}
		port := s.Spec.Ports[0].TargetPort.IntVal
		if port == 0 {
			port = s.Spec.Ports[0].Port
		}
		return ip, port, nil
	}
	return "", 0, errors.New("no Service with a ClusterIP selects the pod yet")
}

// Loopback maps a ClusterIP 10.0.b.c to 127.100.b.c.
func Loopback(clusterIP string) (string, error) {
	ip := net.ParseIP(clusterIP).To4()
	if ip == nil {
		return "", fmt.Errorf("ClusterIP %q is no IPv4 address", clusterIP)
	}
	return fmt.Sprintf("127.100.%d.%d", ip[2], ip[3]), nil
}

// A process runs one pod.
type process struct {
	pod     *corev1.Pod
	kind    kind
	dir     string
	cmd     *exec.Cmd
	done    chan struct{}
	exited  time.Time
	lastErr string
	// configMaps are the versions of the ConfigMaps laid out at start.
	configMaps map[string]string
}

func (p *process) running() bool {
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// stop ends the process group: SIGTERM, SIGKILL after the pod's grace.
func (p *process) stop() {
	if !p.running() {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// start runs cmd for p, its output appended to the pod's log.
func (r *Runner) start(p *process, cmd *exec.Cmd) error {
	logf, err := os.OpenFile(filepath.Join(r.Dir, p.pod.Namespace+"."+p.pod.Name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	fmt.Fprintf(logf, "\n==== %s %s\n", time.Now().Format(time.RFC3339), cmd.String())
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		return err
	}
	p.cmd, p.done = cmd, make(chan struct{})
	go func(done chan struct{}) {
		_ = cmd.Wait()
		_ = logf.Close()
		p.exited = time.Now()
		close(done)
	}(p.done)
	return nil
}

// startMCPServer runs mcpecho for an MCP server pod.
func (r *Runner) startMCPServer(ctx context.Context, p *process, addr string, port int32) error {
	c := container(p.pod, "mcp")
	if c == nil {
		return errors.New("no container mcp")
	}
	env, err := r.env(ctx, p.pod, c)
	if err != nil {
		return err
	}
	cmd := exec.Command(r.MCPServer, "--address="+net.JoinHostPort(addr, strconv.Itoa(int(port))))
	cmd.Env = env
	return r.start(p, cmd)
}
