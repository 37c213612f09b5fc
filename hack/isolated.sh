#!/usr/bin/env bash
# Runs a command in a network namespace of its own with only loopback up, so
# the local control plane it starts (fixed ports, some of Crossplane core's
# on all interfaces) clashes with nothing and is reachable from nothing. As
# root it makes the namespace directly; otherwise inside a user namespace
# where the caller is root. Where neither works it stops: on the host network
# the fixed ports would collide with whatever else runs there.
set -euo pipefail
if ! command -v ip >/dev/null; then
  echo "hack/isolated.sh: needs ip (Debian: apt-get install iproute2) to bring loopback up in the namespace" >&2
  exit 1
fi
for flags in "--net" "--user --map-root-user --net"; do
  # shellcheck disable=SC2086 # the flags are words
  if unshare $flags --fork true 2>/dev/null; then
    # shellcheck disable=SC2086
    exec unshare $flags --fork bash -c 'ip link set lo up && exec "$@"' isolated "$@"
  fi
done
echo "hack/isolated.sh: cannot create a network namespace, neither as root nor in a user namespace;" \
  "run as root, or allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1," \
  "or kernel.apparmor_restrict_unprivileged_userns=0)" >&2
exit 1
