//go:build integration

package integration

import (
	"fmt"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/crossmcp/provider-mcp/test/wait"
)

// TestMetrics checks what an operator alerts on: verifications by outcome
// and reason with their durations, and crossplane-runtime's managed
// resource state metrics, after a config went through a real verification.
func TestMetrics(t *testing.T) {
	ns := namespace(t)
	mg := exampleEAC(t, ns)
	create(t, clientSecret(ns, idp.ClientSecret), mg)
	wait.For(t, 30*time.Second, "config Ready", readyIs(t, ns, mg.Name, corev1.ConditionTrue, ""))

	wait.For(t, 10*time.Second, "the provider's metrics", func() string {
		fams, err := metrics.Registry.Gather()
		if err != nil {
			return err.Error()
		}
		got := map[string]*dto.MetricFamily{}
		for _, f := range fams {
			got[f.GetName()] = f
		}
		if v := sum(got["provider_mcp_verifications_total"], map[string]string{"outcome": "Succeeded", "reason": "Verified"}); v < 1 {
			return fmt.Sprintf("provider_mcp_verifications_total{outcome=Succeeded,reason=Verified} = %v, want at least 1", v)
		}
		if f := got["provider_mcp_verification_duration_seconds"]; f == nil || len(f.GetMetric()) == 0 || f.GetMetric()[0].GetHistogram().GetSampleCount() < 1 {
			return "provider_mcp_verification_duration_seconds has no sample"
		}
		gvk := map[string]string{"gvk": "auth.mcp.crossmcp.io/v1alpha1, Kind=ExternalAuthConfig"}
		if v := sum(got["crossplane_managed_resource_ready"], gvk); v < 1 {
			return fmt.Sprintf("crossplane_managed_resource_ready%v = %v, want at least 1", gvk, v)
		}
		return ""
	})
}

// sum adds the values of a family's series whose labels include want.
func sum(f *dto.MetricFamily, want map[string]string) float64 {
	var total float64
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		match := true
		for k, v := range want {
			match = match && labels[k] == v
		}
		if !match {
			continue
		}
		total += m.GetCounter().GetValue() + m.GetGauge().GetValue()
	}
	return total
}
