#!/usr/bin/env bash
# Checks the versions the modules build with; .ci/run runs it.
#
# 1. The product is developed in a workspace (go.work) with the plane and
#    the tests, whose dependencies could raise the versions the product
#    builds with. Fail when a module a product package (tests included) is
#    built from has another version in the workspace than the product's
#    go.mod alone selects: what make build and make xpkg ship is then what
#    users get from the product module.
# 2. A cold make run compiles the plane's tools (cluster/tools/plane) and
#    then our binaries. Fail when a module both build from has two versions:
#    each would be compiled twice (golang.org/x/sys alone makes every package
#    above it compile again), which costs the cold start about two minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
f='{{with .Module}}{{if .Version}}{{.Path}} {{.Version}}{{end}}{{end}}'
fail=0

alone=$(GOWORK=off go list -deps -test -f "$f" ./... | sort -u)
workspace=$(go list -deps -test -f "$f" ./... | sort -u)
drift=$(join -a1 -a2 <(echo "$alone") <(echo "$workspace") | awk 'NF != 3 || $2 != $3')
if [ -n "$drift" ]; then
  echo "check-modules: the workspace builds the product with other versions than its go.mod (module, alone, workspace):" >&2
  echo "$drift" >&2
  echo "raise the product's requirement (GOWORK=off go get module@version) or lower the other module's" >&2
  fail=1
fi

plane=$(cd cluster/tools/plane && GOWORK=off go list -deps -f "$f" ./etcd k8s.io/kubernetes/cmd/kube-apiserver \
  k8s.io/kubernetes/cmd/kube-controller-manager github.com/crossplane/crossplane/v2/cmd/crossplane \
  github.com/stacklok/toolhive/cmd/thv-proxyrunner | sort -u)
ours=$(go list -deps -f "$f" ./cmd/... ./cluster/local ./test/mcpecho | sort -u)
apart=$(join <(echo "$ours") <(echo "$plane") | awk '$2 != $3')
if [ -n "$apart" ]; then
  echo "check-modules: our binaries and the plane's tools build these modules at different versions (module, ours, plane):" >&2
  echo "$apart" >&2
  echo "align them: go get in the product (GOWORK=off), cluster or test, or in cluster/tools/plane (GOWORK=off)" >&2
  fail=1
fi
exit $fail
