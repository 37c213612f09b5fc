// Package report holds the scale harness's figures and renders them as
// Markdown and JSON. It is pure: no clock, no cluster, no files.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"golang.org/x/tools/benchmark/parse"
)

// Goals the issue sets; the report says of each figure whether it met its.
const (
	GoalRunFunctionNsPerOp     = float64(time.Millisecond)
	GoalRunFunctionAllocsPerOp = 2000
	GoalConvergenceRatio       = 1.3
	GoalPeakRSSMiB             = 80 // at 1000 configs
	GoalPeakRSSAt              = 1000
	GoalPeakRSSUnrelated       = 5000 // unrelated 10 KiB Secrets in the cluster
	GoalSteadyWritesPerMR      = 0
	GoalRotationP95            = 3 * time.Second
)

// A Report is everything one make bench run measured.
type Report struct {
	Date        time.Time    `json:"date"`
	Machine     Machine      `json:"machine"`
	Versions    []Version    `json:"versions"`
	Micro       []Bench      `json:"micro,omitempty"`
	Convergence *Convergence `json:"convergence,omitempty"`
	Steady      *Steady      `json:"steadyState,omitempty"`
	Rotation    *Rotation    `json:"rotation,omitempty"`
	Throughput  *Throughput  `json:"xrThroughput,omitempty"`
	Notes       []string     `json:"notes,omitempty"`
}

// Machine is where the figures were taken.
type Machine struct {
	Cores     int    `json:"cores"`
	OS        string `json:"os"`
	Arch      string `json:"arch"`
	GoVersion string `json:"goVersion"`
}

// Version is one pinned component.
type Version struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Bench is one go test -bench result.
type Bench struct {
	Name        string  `json:"name"`
	NsPerOp     float64 `json:"nsPerOp"`
	BytesPerOp  uint64  `json:"bytesPerOp"`
	AllocsPerOp uint64  `json:"allocsPerOp"`
}

// Convergence is the provider's time to make N configs Ready with their
// connection secrets, against a plain client doing the same writes.
type Convergence struct {
	Configs    int     `json:"configs"`
	Provider   Seconds `json:"providerSeconds"`
	Floor      Seconds `json:"floorSeconds"`
	PeakRSSMiB float64 `json:"providerPeakRSSMiB"`
	// UnrelatedSecrets are Secrets no config references, in the cluster
	// all along: the provider must not hold them.
	UnrelatedSecrets int `json:"unrelatedSecrets"`
	// Requests are the provider's API requests while it converged, keyed as
	// Steady's; the floor makes two writes per config.
	Requests map[string]int `json:"providerRequestsByMethod,omitempty"`
}

// PerConfig says how many requests of each method the provider made per
// config while it converged, most frequent first.
func (c Convergence) PerConfig() string {
	if c.Configs == 0 || len(c.Requests) == 0 {
		return ""
	}
	methods := make([]string, 0, len(c.Requests))
	total := 0
	for m, n := range c.Requests {
		methods = append(methods, m)
		total += n
	}
	slices.SortFunc(methods, func(a, b string) int {
		if d := c.Requests[b] - c.Requests[a]; d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(methods))
	for i, m := range methods {
		parts[i] = fmt.Sprintf("%s %.2f", m, float64(c.Requests[m])/float64(c.Configs))
	}
	return fmt.Sprintf("%s (%d in all)", strings.Join(parts, ", "), total)
}

// Ratio is the provider's time over the floor's.
func (c Convergence) Ratio() float64 {
	if c.Floor <= 0 {
		return math.Inf(1)
	}
	return float64(c.Provider) / float64(c.Floor)
}

// Steady counts the provider's API requests while nothing changes, by
// method, or by method and status code ("PUT 409") for answers other than
// 2xx.
type Steady struct {
	Configs  int            `json:"configs"`
	Window   Seconds        `json:"windowSeconds"`
	Polls    int            `json:"pollIntervals"`
	ByMethod map[string]int `json:"requestsByMethod"`
}

// Requests is every request in the window.
func (s Steady) Requests() int {
	n := 0
	for _, v := range s.ByMethod {
		n += v
	}
	return n
}

// Writes is every request in the window that can change an object.
func (s Steady) Writes() int {
	n := 0
	for m, v := range s.ByMethod {
		// A key may carry the status code: "PUT 409" is a write too.
		method, _, _ := strings.Cut(m, " ")
		switch strings.ToUpper(method) {
		case "POST", "PUT", "PATCH", "DELETE":
			n += v
		}
	}
	return n
}

// PerMR divides n by the number of configs.
func (s Steady) PerMR(n int) float64 {
	if s.Configs == 0 {
		return 0
	}
	return float64(n) / float64(s.Configs)
}

// Latency summarises repeated measurements.
type Latency struct {
	Samples []Seconds `json:"samples"`
}

// Quantile is the nearest-rank quantile q (0 < q <= 1) of the samples.
func (l Latency) Quantile(q float64) Seconds {
	if len(l.Samples) == 0 {
		return 0
	}
	s := slices.Clone(l.Samples)
	slices.Sort(s)
	i := max(int(math.Ceil(q*float64(len(s))))-1, 0)
	return s[min(i, len(s)-1)]
}

// Rotation is how long client Secret changes took to reach the workload:
// Samples to the Deployment's pod template, Provider to the config's new hash
// in its status (the provider's share; the rest is Crossplane's and the
// function's).
type Rotation struct {
	Latency
	Provider Latency `json:"provider"`
}

// Throughput is the time M XRs created at once need to all be Ready.
type Throughput struct {
	Servers  int     `json:"servers"`
	AllReady Seconds `json:"allReadySeconds"`
}

// Seconds is a duration as JSON wants it: a number of seconds.
type Seconds float64

// Of returns d in seconds.
func Of(d time.Duration) Seconds { return Seconds(d.Seconds()) }

func (s Seconds) String() string { return fmt.Sprintf("%.2f s", float64(s)) }

// ParseMicro reads go test -bench output; lines that are not results are
// skipped. Results keep the order in which they were printed.
func ParseMicro(r io.Reader) ([]Bench, error) {
	set, err := parse.ParseSet(r)
	if err != nil {
		return nil, err
	}
	var out []*parse.Benchmark
	for _, bs := range set {
		out = append(out, bs...)
	}
	slices.SortFunc(out, func(a, b *parse.Benchmark) int { return a.Ord - b.Ord })
	bs := make([]Bench, 0, len(out))
	for _, b := range out {
		bs = append(bs, Bench{Name: b.Name, NsPerOp: b.NsPerOp, BytesPerOp: b.AllocedBytesPerOp, AllocsPerOp: b.AllocsPerOp})
	}
	return bs, nil
}

// A Figure is one line of the report's table.
type Figure struct {
	Measure string `json:"measure"`
	Value   string `json:"value"`
	Goal    string `json:"goal,omitempty"`
	// Met is "yes", "no", or "" when the figure has no goal.
	Met string `json:"met,omitempty"`
}

func met(ok bool) string {
	if ok {
		return "yes"
	}
	return "no"
}

// Figures lists every figure with its goal.
func (r Report) Figures() []Figure {
	var fs []Figure
	for _, b := range r.Micro {
		f := Figure{Measure: b.Name, Value: fmt.Sprintf("%.0f ns/op, %d B/op, %d allocs/op", b.NsPerOp, b.BytesPerOp, b.AllocsPerOp)}
		if strings.HasPrefix(b.Name, "BenchmarkRunFunction/") {
			f.Goal = fmt.Sprintf("< %.0f ns/op, < %d allocs/op", GoalRunFunctionNsPerOp, GoalRunFunctionAllocsPerOp)
			f.Met = met(b.NsPerOp < GoalRunFunctionNsPerOp && b.AllocsPerOp < GoalRunFunctionAllocsPerOp)
		}
		fs = append(fs, f)
	}
	if c := r.Convergence; c != nil {
		fs = append(fs,
			Figure{Measure: fmt.Sprintf("Provider convergence, %d configs", c.Configs), Value: c.Provider.String()},
			Figure{Measure: fmt.Sprintf("Plain-client floor, %d configs", c.Configs), Value: c.Floor.String()},
			Figure{Measure: "Convergence / floor", Value: fmt.Sprintf("%.2f×", c.Ratio()), Goal: fmt.Sprintf("≤ %.1f×", GoalConvergenceRatio), Met: met(c.Ratio() <= GoalConvergenceRatio)},
		)
		rss := Figure{
			Measure: fmt.Sprintf("Provider peak RSS, %d configs, %d unrelated Secrets", c.Configs, c.UnrelatedSecrets),
			Value:   fmt.Sprintf("%.1f MiB", c.PeakRSSMiB),
			Goal:    fmt.Sprintf("< %d MiB at %d, %d", GoalPeakRSSMiB, GoalPeakRSSAt, GoalPeakRSSUnrelated),
		}
		if c.Configs >= GoalPeakRSSAt && c.UnrelatedSecrets >= GoalPeakRSSUnrelated {
			rss.Met = met(c.PeakRSSMiB < GoalPeakRSSMiB)
		}
		fs = append(fs, rss)
		if pc := c.PerConfig(); pc != "" {
			fs = append(fs, Figure{Measure: "Provider API requests per config while converging", Value: pc})
		}
	}
	if s := r.Steady; s != nil {
		fs = append(fs,
			Figure{Measure: fmt.Sprintf("Steady state: API requests per MR over %d poll intervals (%s)", s.Polls, s.Window), Value: fmt.Sprintf("%.3f (%d in all)", s.PerMR(s.Requests()), s.Requests())},
			Figure{Measure: fmt.Sprintf("Steady state: writes per MR over %d poll intervals", s.Polls), Value: fmt.Sprintf("%.3f (%d in all)", s.PerMR(s.Writes()), s.Writes()), Goal: "0", Met: met(s.Writes() == GoalSteadyWritesPerMR)},
		)
	}
	if l := r.Rotation; l != nil {
		fs = append(fs,
			Figure{Measure: fmt.Sprintf("Rotation latency p50, %d rotations", len(l.Samples)), Value: l.Quantile(0.5).String()},
			Figure{Measure: fmt.Sprintf("Rotation latency p95, %d rotations", len(l.Samples)), Value: l.Quantile(0.95).String(), Goal: fmt.Sprintf("< %s", Of(GoalRotationP95)), Met: met(len(l.Samples) >= 20 && l.Quantile(0.95) < Of(GoalRotationP95))},
			Figure{Measure: "Rotation latency max", Value: l.Quantile(1).String()},
		)
		if p := l.Provider; len(p.Samples) > 0 {
			fs = append(fs, Figure{Measure: "Rotation: the provider's share (Secret to the config's new hash), p50 / p95 / max", Value: fmt.Sprintf("%s / %s / %s", p.Quantile(0.5), p.Quantile(0.95), p.Quantile(1))})
		}
	}
	if t := r.Throughput; t != nil {
		fs = append(fs, Figure{Measure: fmt.Sprintf("XR throughput: %d MCPServers created at once, all Ready", t.Servers), Value: t.AllReady.String()})
	}
	return fs
}

// WriteMarkdown renders the report for people.
func (r Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# provider-mcp benchmark report\n\n")
	fmt.Fprintf(&b, "Taken %s on %d cores (%s/%s, %s).\n\n", r.Date.UTC().Format(time.RFC3339), r.Machine.Cores, r.Machine.OS, r.Machine.Arch, r.Machine.GoVersion)
	b.WriteString("| Measure | Value | Goal | Met |\n|---|---|---|---|\n")
	for _, f := range r.Figures() {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", f.Measure, f.Value, f.Goal, f.Met)
	}
	if s := r.Steady; s != nil && len(s.ByMethod) > 0 {
		b.WriteString("\nSteady-state requests by method: ")
		ms := make([]string, 0, len(s.ByMethod))
		for m := range s.ByMethod {
			ms = append(ms, m)
		}
		slices.Sort(ms)
		for i, m := range ms {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s %d", m, s.ByMethod[m])
		}
		b.WriteString(".\n")
	}
	if len(r.Notes) > 0 {
		b.WriteString("\n## How these were measured\n\n")
		for _, n := range r.Notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	b.WriteString("\n## Versions\n\n| Component | Version |\n|---|---|\n")
	for _, v := range r.Versions {
		fmt.Fprintf(&b, "| %s | %s |\n", v.Name, v.Version)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON renders the report for programs.
func (r Report) WriteJSON(w io.Writer) error {
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	// The figures go along, so a program reads ratios and quantiles as
	// the Markdown shows them.
	return e.Encode(struct {
		Report
		Figures []Figure `json:"figures"`
	}{Report: r, Figures: r.Figures()})
}
