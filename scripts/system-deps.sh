#!/usr/bin/env bash
# Install what Dockyard needs from Debian and make sure the Docker engine is running.
#   scripts/system-deps.sh          the platform: docker.io, busybox-static
#   scripts/system-deps.sh --test   also what the test suite uses: haproxy, skopeo
set -euo pipefail

packages=(docker.io busybox-static iproute2 iptables)
if [[ "${1:-}" == "--test" ]]; then
  packages+=(haproxy skopeo)
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  SUDO="sudo"
fi

missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
if (( ${#missing[@]} )); then
  echo "Installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq || true
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  echo "Starting dockerd"
  $SUDO mkdir -p /var/log
  $SUDO sh -c 'nohup dockerd >/var/log/dockyard-dockerd.log 2>&1 &'
  for _ in $(seq 1 60); do
    if docker info >/dev/null 2>&1; then break; fi
    sleep 0.5
  done
  docker info >/dev/null 2>&1 || { echo "dockerd did not start; see /var/log/dockyard-dockerd.log" >&2; exit 1; }
fi

# The task metadata and credentials endpoints live on 169.254.170.2, as on ECS.
if ! ip addr show dev lo | grep -q "169.254.170.2/32"; then
  $SUDO ip addr add 169.254.170.2/32 dev lo
fi
