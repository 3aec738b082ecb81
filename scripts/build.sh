#!/usr/bin/env bash
# Installs what the build needs (scripts/setup.sh), configures and builds (-j2: 2-core machines).
#   BUILD_DIR=build  CMAKE_ARGS="-DBUILD_TESTING=OFF"  scripts/build.sh [--target T ...]
# Extra arguments go to `cmake --build`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
BUILD_DIR=${BUILD_DIR:-build}
# shellcheck disable=SC2086  # CMAKE_ARGS is a list of words
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo ${CMAKE_ARGS:-} >/dev/null
cmake --build "$BUILD_DIR" -j2 "$@"
