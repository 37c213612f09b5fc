package main

import (
	"debug/buildinfo"
	"path/filepath"
	goruntime "runtime"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/crossmcp/provider-mcp/test/scale/report"
)

// versions lists the pinned versions the figures depend on, read from the
// binaries that ran: the libraries of our provider and function, and the
// modules the control plane's tools were built from.
func versions(bin, tools string) []report.Version {
	var vs []report.Version
	for path, mods := range map[string]map[string]string{
		filepath.Join(bin, "provider"): {
			"github.com/crossplane/crossplane-runtime/v2": "crossplane-runtime",
			"sigs.k8s.io/controller-runtime":              "controller-runtime",
			"k8s.io/client-go":                            "client-go",
		},
		filepath.Join(bin, "function"):          {"github.com/crossplane/function-sdk-go": "function-sdk-go"},
		filepath.Join(tools, "etcd"):            {"go.etcd.io/etcd/server/v3": "etcd"},
		filepath.Join(tools, "kube-apiserver"):  {"k8s.io/kubernetes": "kube-apiserver"},
		filepath.Join(tools, "crossplane-core"): {"github.com/crossplane/crossplane/v2": "Crossplane core"},
	} {
		bi, err := buildinfo.ReadFile(path)
		if err != nil {
			vs = append(vs, report.Version{Name: filepath.Base(path), Version: "unknown: " + err.Error()})
			continue
		}
		vs = append(vs, fromBuild(filepath.Base(path), bi, mods)...)
	}
	vs = append(vs, report.Version{Name: "Go (this harness)", Version: goruntime.Version()})
	slices.SortFunc(vs, func(a, b report.Version) int {
		return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	})
	return vs
}

// fromBuild picks the named modules out of a binary's build information;
// the main module counts too.
func fromBuild(binary string, bi *debug.BuildInfo, names map[string]string) []report.Version {
	var vs []report.Version
	for _, m := range append([]*debug.Module{&bi.Main}, bi.Deps...) {
		name, ok := names[m.Path]
		if !ok {
			continue
		}
		if m.Replace != nil {
			m = m.Replace
		}
		v := report.Version{Name: name, Version: m.Version}
		if !strings.EqualFold(binary, name) {
			v.Name = name + " (in " + binary + ")"
		}
		vs = append(vs, v)
	}
	return vs
}

func runtimeCores() int { return goruntime.NumCPU() }
