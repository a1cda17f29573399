#!/usr/bin/env bash
# Runs a command inside a private network namespace, so WebRTC peer traffic never reaches the
# machine's real interfaces. WebRTC does not gather candidates on loopback (Chromium and libdatachannel
# skip it), so the namespace gets a veth pair: v0 = 10.99.0.1/24 with a default route via its peer,
# v1 (10.99.0.2, unaddressed on our side). There is no route out of the namespace: nothing leaves it.
# `unshare -rn` maps us to root inside a new user namespace: no real root needed.
set -euo pipefail
if [ "${EDGESWARM_NETNS:-}" = "1" ]; then exec "$@"; fi
exec unshare -rn bash -c '
  set -e
  ip link set lo up
  ip link add v0 type veth peer name v1
  ip addr add 10.99.0.1/24 dev v0
  ip link set v0 up
  ip link set v1 up
  ip route add default via 10.99.0.2 dev v0
  export EDGESWARM_NETNS=1
  exec "$@"
' netns "$@"
