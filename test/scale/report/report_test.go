package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestQuantile(t *testing.T) {
	type args struct {
		samples []Seconds
		q       float64
	}
	cases := map[string]struct {
		reason string
		args   args
		want   Seconds
	}{
		"Empty":       {reason: "No samples have a quantile of zero.", args: args{q: 0.95}, want: 0},
		"Median":      {reason: "The median of 1..4 by nearest rank is 2.", args: args{samples: []Seconds{4, 1, 3, 2}, q: 0.5}, want: 2},
		"P95OfTwenty": {reason: "The p95 of twenty samples is the 19th smallest.", args: args{samples: seq(20), q: 0.95}, want: 19},
		"P95OfTen":    {reason: "The p95 of ten samples is the largest.", args: args{samples: seq(10), q: 0.95}, want: 10},
		"Max":         {reason: "q=1 is the largest.", args: args{samples: []Seconds{2, 9, 1}, q: 1}, want: 9},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := Latency{Samples: tc.args.samples}.Quantile(tc.args.q)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("\n%s\nQuantile(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func seq(n int) []Seconds {
	s := make([]Seconds, 0, n)
	for i := n; i >= 1; i-- {
		s = append(s, Seconds(i))
	}
	return s
}

func TestParseMicro(t *testing.T) {
	out := `goos: linux
goarch: amd64
pkg: github.com/crossmcp/provider-mcp/internal/function
cpu: some cpu
BenchmarkRunFunction/SharedConfig-2         	    4000	    300000 ns/op	  120000 B/op	    1500 allocs/op
BenchmarkRunFunction/LabelledInput-2            	    4000	   1200000 ns/op	  120000 B/op	    2500 allocs/op
PASS
ok  	github.com/crossmcp/provider-mcp/internal/function	3.1s
BenchmarkHash-2   	 1000000	      1000 ns/op	     512 B/op	       9 allocs/op
`
	got, err := ParseMicro(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	want := []Bench{
		{Name: "BenchmarkRunFunction/SharedConfig-2", NsPerOp: 300000, BytesPerOp: 120000, AllocsPerOp: 1500},
		{Name: "BenchmarkRunFunction/LabelledInput-2", NsPerOp: 1200000, BytesPerOp: 120000, AllocsPerOp: 2500},
		{Name: "BenchmarkHash-2", NsPerOp: 1000, BytesPerOp: 512, AllocsPerOp: 9},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseMicro(...): -want, +got:\n%s", diff)
	}
}

func TestFigures(t *testing.T) {
	cases := map[string]struct {
		reason string
		report Report
		want   []Figure
	}{
		"MicroGoals": {
			reason: "RunFunction results are held to 1 ms and 2,000 allocs; other benchmarks have no goal.",
			report: Report{Micro: []Bench{
				{Name: "BenchmarkRunFunction/SharedConfig-2", NsPerOp: 300000, AllocsPerOp: 1500},
				{Name: "BenchmarkRunFunction/LabelledInput-2", NsPerOp: 300000, AllocsPerOp: 2500},
				{Name: "BenchmarkHash-2", NsPerOp: 1000, AllocsPerOp: 9},
			}},
			want: []Figure{
				{Measure: "BenchmarkRunFunction/SharedConfig-2", Value: "300000 ns/op, 0 B/op, 1500 allocs/op", Goal: "< 1000000 ns/op, < 2000 allocs/op", Met: "yes"},
				{Measure: "BenchmarkRunFunction/LabelledInput-2", Value: "300000 ns/op, 0 B/op, 2500 allocs/op", Goal: "< 1000000 ns/op, < 2000 allocs/op", Met: "no"},
				{Measure: "BenchmarkHash-2", Value: "1000 ns/op, 0 B/op, 9 allocs/op"},
			},
		},
		"ConvergenceBelowGoalScale": {
			reason: "The ratio is judged at any size; peak RSS only at 1000 configs and 5000 unrelated Secrets or more.",
			report: Report{Convergence: &Convergence{Configs: 1000, Provider: 13, Floor: 10, PeakRSSMiB: 50, UnrelatedSecrets: 100}},
			want: []Figure{
				{Measure: "Provider convergence, 1000 configs", Value: "13.00 s"},
				{Measure: "Plain-client floor, 1000 configs", Value: "10.00 s"},
				{Measure: "Convergence / floor", Value: "1.30×", Goal: "≤ 1.3×", Met: "yes"},
				{Measure: "Provider peak RSS, 1000 configs, 100 unrelated Secrets", Value: "50.0 MiB", Goal: "< 80 MiB at 1000, 5000"},
			},
		},
		"ConvergenceAtGoalScale": {
			reason: "At 1000 configs peak RSS is judged; requests per config are listed most frequent first.",
			report: Report{Convergence: &Convergence{Configs: 1000, Provider: 20, Floor: 10, PeakRSSMiB: 90, UnrelatedSecrets: 5000, Requests: map[string]int{"PUT": 1000, "POST": 2000, "GET": 5, "PATCH": 1000}}},
			want: []Figure{
				{Measure: "Provider convergence, 1000 configs", Value: "20.00 s"},
				{Measure: "Plain-client floor, 1000 configs", Value: "10.00 s"},
				{Measure: "Convergence / floor", Value: "2.00×", Goal: "≤ 1.3×", Met: "no"},
				{Measure: "Provider peak RSS, 1000 configs, 5000 unrelated Secrets", Value: "90.0 MiB", Goal: "< 80 MiB at 1000, 5000", Met: "no"},
				{Measure: "Provider API requests per config while converging", Value: "POST 2.00, PATCH 1.00, PUT 1.00, GET 0.01 (4005 in all)"},
			},
		},
		"SteadyWrites": {
			reason: "Any write in steady state misses the goal of zero, a refused one too.",
			report: Report{Steady: &Steady{Configs: 4, Window: 60, Polls: 2, ByMethod: map[string]int{"GET": 2, "PUT": 2, "PUT 409": 1, "GET 404": 1}}},
			want: []Figure{
				{Measure: "Steady state: API requests per MR over 2 poll intervals (60.00 s)", Value: "1.500 (6 in all)"},
				{Measure: "Steady state: writes per MR over 2 poll intervals", Value: "0.750 (3 in all)", Goal: "0", Met: "no"},
			},
		},
		"RotationTooFewSamples": {
			reason: "Fewer than twenty rotations cannot meet the goal, however fast.",
			report: Report{Rotation: &Rotation{Latency: Latency{Samples: []Seconds{0.2, 0.3}}}},
			want: []Figure{
				{Measure: "Rotation latency p50, 2 rotations", Value: "0.20 s"},
				{Measure: "Rotation latency p95, 2 rotations", Value: "0.30 s", Goal: "< 3.00 s", Met: "no"},
				{Measure: "Rotation latency max", Value: "0.30 s"},
			},
		},
		"RotationProviderShare": {
			reason: "The provider's share of each rotation is summarised beside the whole.",
			report: Report{Rotation: &Rotation{Latency: Latency{Samples: seq(20)}, Provider: Latency{Samples: []Seconds{0.1, 0.3, 0.2}}}},
			want: []Figure{
				{Measure: "Rotation latency p50, 20 rotations", Value: "10.00 s"},
				{Measure: "Rotation latency p95, 20 rotations", Value: "19.00 s", Goal: "< 3.00 s", Met: "no"},
				{Measure: "Rotation latency max", Value: "20.00 s"},
				{Measure: "Rotation: the provider's share (Secret to the config's new hash), p50 / p95 / max", Value: "0.20 s / 0.30 s / 0.30 s"},
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.report.Figures()); diff != "" {
				t.Errorf("\n%s\nFigures(): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestWrite(t *testing.T) {
	r := Report{
		Date:       time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC),
		Machine:    Machine{Cores: 2, OS: "linux", Arch: "amd64", GoVersion: "go1.26.8"},
		Versions:   []Version{{Name: "kube-apiserver", Version: "v1.35.4"}},
		Throughput: &Throughput{Servers: 50, AllReady: 12.5},
		Steady:     &Steady{Configs: 1, Window: 30, Polls: 2, ByMethod: map[string]int{"PUT": 1, "GET": 3}},
		Notes:      []string{"measured on the embedded control plane"},
	}
	var md bytes.Buffer
	if err := r.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"on 2 cores", "| kube-apiserver | v1.35.4 |", "| XR throughput: 50 MCPServers created at once, all Ready | 12.50 s |  |  |", "GET 3, PUT 1.", "- measured on the embedded control plane"} {
		if !strings.Contains(md.String(), s) {
			t.Errorf("WriteMarkdown(...): want %q in\n%s", s, md.String())
		}
	}
	var js bytes.Buffer
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Machine Machine  `json:"machine"`
		Figures []Figure `json:"figures"`
	}
	if err := json.Unmarshal(js.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r.Machine, got.Machine); diff != "" {
		t.Errorf("WriteJSON(...): machine: -want, +got:\n%s", diff)
	}
	if diff := cmp.Diff(r.Figures(), got.Figures); diff != "" {
		t.Errorf("WriteJSON(...): figures: -want, +got:\n%s", diff)
	}
}
