#!/usr/bin/env bash
# uptest pre-delete hook of the ExternalAuthConfig: Crossplane refuses to
# delete a config while a Usage protects it, so wait until the MCPServers
# using it (deleted before it) are gone.
set -euo pipefail
for _ in $(seq 1 150); do
  if [ -z "$(${KUBECTL:-kubectl} get usages.protection.crossplane.io -n demo -o name)" ]; then
    exit 0
  fi
  sleep 2
done
echo "ExternalAuthConfigs in demo are still in use" >&2
exit 1
