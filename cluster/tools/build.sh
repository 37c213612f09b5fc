#!/usr/bin/env bash
# Builds the pinned tools the project needs into a git-ignored cache folder,
# only those that are missing or whose pinned versions changed.
#
#   cluster/tools/build.sh etcd kube-apiserver   # build these
#   cluster/tools/build.sh                        # build every tool
#
# Each tool comes from a wrapper module beside this script whose go.mod and
# go.sum pin it; a tool is rebuilt when its wrapper's pins change. Tools that
# can share one dependency set share a module (plane), so that their common
# packages compile once.
#
# chainsaw is built from a patched copy of its module that this script makes
# in <repo>/.cache/tools/src whatever TOOLS_BIN says: the wrapper's go.mod
# reaches it with a relative replace.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${TOOLS_BIN:-$root/.cache/tools/bin}
src=$root/.cache/tools/src
mkdir -p "$bin"

k8s_version=v1.35.4
k8s_ldflags="-X k8s.io/component-base/version.gitVersion=${k8s_version} -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=35"

# tool -> "wrapper-dir package ldflags"
declare -A tools=(
  [etcd]="plane ./etcd "
  [kube-apiserver]="plane k8s.io/kubernetes/cmd/kube-apiserver ${k8s_ldflags}"
  [kube-controller-manager]="plane k8s.io/kubernetes/cmd/kube-controller-manager ${k8s_ldflags}"
  [kube-scheduler]="plane k8s.io/kubernetes/cmd/kube-scheduler ${k8s_ldflags}"
  [kubectl]="plane k8s.io/kubernetes/cmd/kubectl ${k8s_ldflags}"
  [golangci-lint]="golangci-lint github.com/golangci/golangci-lint/v2/cmd/golangci-lint "
  [crossplane]="crossplane-cli github.com/crossplane/crossplane/v2/cmd/crank "
  [crossplane-core]="plane github.com/crossplane/crossplane/v2/cmd/crossplane -X github.com/crossplane/crossplane-runtime/v2/pkg/version.version=v2.4.0 -X sigs.k8s.io/controller-runtime/pkg/metrics/server.DefaultBindAddress=127.0.0.1:18084"
  [uptest]="uptest github.com/crossplane/uptest/cmd/uptest "
  [chainsaw]="chainsaw github.com/kyverno/chainsaw -X github.com/kyverno/chainsaw/pkg/version.BuildVersion=v0.2.14"
  [crd-ref-docs]="crd-ref-docs github.com/elastic/crd-ref-docs "
  [thv-proxyrunner]="plane github.com/stacklok/toolhive/cmd/thv-proxyrunner -X github.com/stacklok/toolhive/pkg/versions.Version=v0.48.0"
)

# crossplane-core: the RBAC manager has no flag for its metrics address and
# would take :8080 on every interface, the port the proxy runner and most MCP
# servers use on the plane's loopback addresses: controller-runtime's default
# is set to 127.0.0.1:18084 instead (core's own are set by flag).
#
# chainsaw v0.2.14 does not compile with Go >= 1.25: its TestDeps lacks the
# ModulePath method testing.MainStart now requires. Copy the module out of the
# read-only module cache once and add the method in a file of its own.
prepare_chainsaw() {
  local dest=$src/chainsaw@v0.2.14 patch=pkg/runner/internal/module_path.go from
  if [ -f "$dest/$patch" ]; then
    return 0
  fi
  # Run outside any module so the download touches no go.mod or go.sum.
  from=$(cd / && go mod download -json github.com/kyverno/chainsaw@v0.2.14 | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  if [ -z "$from" ]; then
    echo "build.sh: cannot download github.com/kyverno/chainsaw@v0.2.14" >&2
    return 1
  fi
  mkdir -p "$src"
  rm -rf "$dest" "$dest.tmp"
  cp -R "$from" "$dest.tmp"
  chmod -R u+w "$dest.tmp"
  cat >"$dest.tmp/$patch" <<'GO'
package internal

// ModulePath is required of testing's deps since Go 1.25; added by
// cluster/tools/build.sh.
func (*TestDeps) ModulePath() string { return "" }
GO
  # Only a complete, patched copy gets the final name.
  mv "$dest.tmp" "$dest"
}

build() {
  local name=$1 spec dir pkg ldflags key stamp
  spec=${tools[$name]:-}
  if [ -z "$spec" ]; then
    echo "build.sh: unknown tool '$name' (known: ${!tools[*]})" >&2
    return 2
  fi
  read -r dir pkg ldflags <<<"$spec"
  key=$( { cat "$here/$dir/go.mod" "$here/$dir/go.sum"; echo "$pkg -s -w $ldflags"; go env GOVERSION; } | sha256sum | cut -c1-16)
  stamp="$bin/.$name.key"
  if [ -x "$bin/$name" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$key" ]; then
    return 0
  fi
  echo ">> building $name from cluster/tools/$dir (a cold build takes minutes)" >&2
  local start=$SECONDS
  # Builds run in the background, where errexit does not hold: every step
  # checks its own failure, so a failed build never gets a stamp.
  case $name in
    chainsaw) prepare_chainsaw || return 1 ;;
  esac
  # -s -w: no symbol table and no DWARF, which the tools never need and
  # which cost link time and disk.
  # GOWORK=off: the wrapper modules are outside the repository's go.work.
  (cd "$here/$dir" && GOWORK=off CGO_ENABLED=0 go build -trimpath -ldflags "-s -w $ldflags" -o "$bin/$name.new" "$pkg") || return 1
  mv "$bin/$name.new" "$bin/$name" || return 1
  echo "$key" >"$stamp" || return 1
  echo ">> built $name in $((SECONDS - start))s" >&2
  touch "$done_dir/$name"
}

# build_group builds tools of one wrapper module, one after the other: they
# share most packages, which the first compiles for the others.
build_group() {
  local t
  for t in "$@"; do
    build "$t" || return 1
  done
}

if [ $# -eq 0 ]; then
  set -- "${!tools[@]}"
fi
for t in "$@"; do
  if [ -z "${tools[$t]:-}" ]; then
    echo "build.sh: unknown tool '$t' (known: ${!tools[*]})" >&2
    exit 2
  fi
done
# TOOLS_JOBS groups build at once (1). Two did not pay on a cold 2-core
# machine (the make run tools in 930 s, against 876 s one at a time): the
# compiler already keeps both cores busy, and groups at once compile their
# own copies of the packages they share.
declare -A groups=()
order=()
for t in "$@"; do
  read -r dir _ <<<"${tools[$t]}"
  if [ -z "${groups[$dir]:-}" ]; then
    order+=("$dir")
  fi
  groups[$dir]+="$t "
done
done_dir=$(mktemp -d)
trap 'rm -rf "$done_dir"' EXIT
begin=$SECONDS
mkdir -p "$done_dir/failed"
for dir in "${order[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "${TOOLS_JOBS:-1}" ]; do
    wait -n || true
  done
  # shellcheck disable=SC2086 # the group's tools are words
  { build_group ${groups[$dir]} || touch "$done_dir/failed/$dir"; } &
done
wait
built=$(find "$done_dir" -maxdepth 1 -type f | wc -l)
if [ "$built" -gt 0 ]; then
  echo ">> built $built tools in $((SECONDS - begin))s" >&2
fi
if [ -n "$(ls "$done_dir/failed")" ]; then
  echo "build.sh: failed to build the tools of: $(ls "$done_dir/failed" | tr '\n' ' ')" >&2
  exit 1
fi
