#!/usr/bin/env bash
# The product is developed in a workspace (go.work) with the plane and the
# tests, whose dependencies could raise the versions the product builds
# with. Fail when any module a product package (tests included) is built
# from has another version in the workspace than the product's go.mod alone
# selects: what make build and make xpkg ship is then what users get from
# the product module.
set -euo pipefail
cd "$(dirname "$0")/.."
f='{{with .Module}}{{if .Version}}{{.Path}} {{.Version}}{{end}}{{end}}'
drift=$(join -a1 -a2 <(GOWORK=off go list -deps -test -f "$f" ./... | sort -u) \
  <(go list -deps -test -f "$f" ./... | sort -u) | awk 'NF != 3 || $2 != $3')
if [ -n "$drift" ]; then
  echo "check-workspace: the workspace builds the product with other versions than its go.mod (module, alone, workspace):" >&2
  echo "$drift" >&2
  echo "raise the product's requirement (GOWORK=off go get module@version) or lower the other module's" >&2
  exit 1
fi
