#!/usr/bin/env bash
# Install what Dockyard needs from Debian and make sure the Docker engine is running.
#   scripts/system-deps.sh          the platform: docker.io, busybox-static, haproxy (load balancers),
#                                   tzdata (scheduled scaling time zones)
#   scripts/system-deps.sh --test   also what the tests and benchmarks use: skopeo, podman, wrk (bench_lb)
#                                   and docker-registry (bench_registry's baseline; its service is kept off)
set -euo pipefail

packages=(docker.io busybox-static haproxy iproute2 iptables tzdata)
if [[ "${1:-}" == "--test" ]]; then
  packages+=(skopeo podman wrk docker-registry)
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
  if [[ " ${missing[*]} " == *" docker-registry "* ]] && command -v systemctl >/dev/null 2>&1; then
    # bench_registry starts its own instance; Debian's service (:5000, stock config) is not wanted
    $SUDO systemctl disable --now docker-registry >/dev/null 2>&1 || true
  fi
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
