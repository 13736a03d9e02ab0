#!/usr/bin/env bash
# Installs the Debian 12 packages takt builds against, and only those that are missing
# (`bootstrap.sh fuzz`: also those scripts/fuzz.sh needs).
# Idempotent: a second run installs nothing. Needs root or sudo when something is missing.
set -euo pipefail

packages=(
  build-essential cmake pkg-config ccache python3 time
  tao-pegtl-dev libboost-dev nlohmann-json3-dev libsimdjson-dev
  liblua5.4-dev libsqlite3-dev libssl-dev libcurl4-openssl-dev libspdlog-dev libcli11-dev
  libjemalloc-dev libtomlplusplus-dev
  libcpp-httplib-dev libmosquitto-dev mosquitto openssl
  libgtest-dev libgmock-dev libbenchmark-dev
)

# scripts/fuzz.sh also needs clang and its libFuzzer runtime.
if [ "${1:-}" = "fuzz" ]; then
  packages+=(clang libclang-rt-14-dev)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "bootstrap: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
