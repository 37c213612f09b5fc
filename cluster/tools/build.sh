#!/usr/bin/env bash
# Builds the pinned tools the project needs into a git-ignored cache folder,
# only those that are missing or whose pinned versions changed.
#
#   cluster/tools/build.sh etcd kube-apiserver   # build these
#   cluster/tools/build.sh                        # build every tool
#
# Each tool comes from a small wrapper module beside this script whose go.mod
# and go.sum pin it; a tool is rebuilt when its wrapper's pins change.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${TOOLS_BIN:-$root/.cache/tools/bin}
mkdir -p "$bin"

k8s_version=v1.35.4
k8s_ldflags="-X k8s.io/component-base/version.gitVersion=${k8s_version} -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=35"

# tool -> "wrapper-dir package ldflags"
declare -A tools=(
  [etcd]="etcd . "
  [kube-apiserver]="kubernetes k8s.io/kubernetes/cmd/kube-apiserver ${k8s_ldflags}"
  [kube-controller-manager]="kubernetes k8s.io/kubernetes/cmd/kube-controller-manager ${k8s_ldflags}"
  [kube-scheduler]="kubernetes k8s.io/kubernetes/cmd/kube-scheduler ${k8s_ldflags}"
  [kubectl]="kubernetes k8s.io/kubernetes/cmd/kubectl ${k8s_ldflags}"
  [golangci-lint]="golangci-lint github.com/golangci/golangci-lint/v2/cmd/golangci-lint "
  [crossplane]="crossplane-cli github.com/crossplane/crossplane/v2/cmd/crank "
  [crossplane-core]="crossplane-core github.com/crossplane/crossplane/v2/cmd/crossplane -X github.com/crossplane/crossplane-runtime/v2/pkg/version.version=v2.4.0"
  [kwok]="kwok sigs.k8s.io/kwok/cmd/kwok "
)

build() {
  local name=$1 spec dir pkg ldflags key stamp
  spec=${tools[$name]:-}
  if [ -z "$spec" ]; then
    echo "build.sh: unknown tool '$name' (known: ${!tools[*]})" >&2
    return 2
  fi
  read -r dir pkg ldflags <<<"$spec"
  key=$( { cat "$here/$dir/go.mod" "$here/$dir/go.sum"; echo "$pkg $ldflags"; go env GOVERSION; } | sha256sum | cut -c1-16)
  stamp="$bin/.$name.key"
  if [ -x "$bin/$name" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$key" ]; then
    return 0
  fi
  echo ">> building $name from cluster/tools/$dir (a cold build takes minutes)" >&2
  local start=$SECONDS
  (cd "$here/$dir" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$bin/$name.new" "$pkg")
  mv "$bin/$name.new" "$bin/$name"
  echo "$key" >"$stamp"
  echo ">> built $name in $((SECONDS - start))s" >&2
}

if [ $# -eq 0 ]; then
  set -- "${!tools[@]}"
fi
for t in "$@"; do
  build "$t"
done
