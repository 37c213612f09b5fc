#!/usr/bin/env bash
# uptest's setup step: the namespaces the examples name and the
# ClusterProviderConfig they use (uptest asserts Ready on everything in its
# manifests, which provider configs do not report).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
for ns in demo team-a team-b; do
  "${KUBECTL}" create namespace "$ns" --dry-run=client -o yaml | "${KUBECTL}" apply -f -
done
"${KUBECTL}" apply -f "$root/examples/complete/providerconfig.yaml"
