//go:build tools

// Package tools pins what the local control plane runs: etcd, the Kubernetes
// commands, Crossplane core and ToolHive's proxy runner. They share one
// module so that the packages they have in common (client-go, apimachinery,
// gRPC, OpenTelemetry, ...) are compiled once for all of them.
package tools

import (
	_ "github.com/crossplane/crossplane/v2/cmd/crossplane"
	_ "github.com/stacklok/toolhive/cmd/thv-proxyrunner"
	_ "go.etcd.io/etcd/server/v3/etcdmain"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
