#!/usr/bin/env bash
# Runs a command in a network namespace of its own with only loopback up, so
# the local control plane it starts (fixed ports, some of Crossplane core's
# on all interfaces) clashes with nothing and is reachable from nothing.
# Falls back to running it directly where namespaces cannot be made.
set -euo pipefail
if unshare --net --fork true 2>/dev/null && command -v ip >/dev/null; then
  exec unshare --net --fork bash -c 'ip link set lo up && exec "$@"' isolated "$@"
fi
echo "hack/isolated.sh: cannot create a network namespace; running on the host network" >&2
exec "$@"
