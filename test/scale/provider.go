package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/procfs"

	"github.com/crossmcp/provider-mcp/test/scale/report"
)

// steady counts the provider's API requests over two poll intervals, after
// letting what convergence queued finish.
func (h *harness) steady(ctx context.Context) (*report.Steady, error) {
	if err := sleep(ctx, h.c.Poll/2); err != nil {
		return nil, err
	}
	before, err := providerRequests(ctx)
	if err != nil {
		return nil, err
	}
	window := 2 * h.c.Poll
	if err := sleep(ctx, window); err != nil {
		return nil, err
	}
	after, err := providerRequests(ctx)
	if err != nil {
		return nil, err
	}
	return &report.Steady{Configs: h.c.Configs, Window: report.Of(window), Polls: 2, ByMethod: since(before, after)}, nil
}

// since is what each counter in after gained over before.
func since(before, after map[string]int) map[string]int {
	d := map[string]int{}
	for m, n := range after {
		if n > before[m] {
			d[m] = n - before[m]
		}
	}
	return d
}

// providerRequests reads the provider's client-go request counter by method,
// and by method and status code for answers other than 2xx, such as
// "PUT 409" for a conflict.
func providerRequests(ctx context.Context) (map[string]int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, providerMetrics, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot read the provider's metrics: %w", err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("cannot parse the provider's metrics: %w", err)
	}
	out := map[string]int{}
	mf, ok := mfs["rest_client_requests_total"]
	if !ok {
		return nil, errors.New("the provider reports no rest_client_requests_total")
	}
	for _, m := range mf.GetMetric() {
		var method, code string
		for _, l := range m.GetLabel() {
			switch l.GetName() {
			case "method":
				method = l.GetValue()
			case "code":
				code = l.GetValue()
			}
		}
		if method == "" {
			continue
		}
		if !strings.HasPrefix(code, "2") {
			method += " " + code
		}
		out[method] += int(m.GetCounter().GetValue())
	}
	return out, nil
}

// providerPeakRSS is the provider process's high-water resident set.
func (h *harness) providerPeakRSS() (float64, error) {
	b, err := os.ReadFile(filepath.Join(h.state, "pids", "provider.pid"))
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, err
	}
	p, err := procfs.NewProc(pid)
	if err != nil {
		return 0, err
	}
	st, err := p.NewStatus()
	if err != nil {
		return 0, err
	}
	return float64(st.VmHWM) / (1 << 20), nil
}

// providerRate reads the provider's --max-reconcile-rate from its start-up
// line, so the floor gets the same client limits and concurrency.
func providerRate(logFile string) (int, error) {
	b, err := os.ReadFile(logFile)
	if err != nil {
		return 0, err
	}
	rate := 0
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.Contains(line, "Starting provider-mcp") {
			continue
		}
		var l struct {
			Rate int `json:"max-reconcile-rate"`
		}
		if json.Unmarshal([]byte(line), &l) == nil && l.Rate > 0 {
			rate = l.Rate
		}
	}
	if rate == 0 {
		return 0, fmt.Errorf("%s says no max-reconcile-rate", logFile)
	}
	return rate, nil
}
