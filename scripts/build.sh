#!/usr/bin/env bash
# Installs what the build needs (scripts/setup.sh), configures and builds (-j2: 2-core machines).
#   BUILD_DIR=build  CMAKE_ARGS="-DBUILD_TESTING=OFF"  scripts/build.sh [--target T ...]
# Extra arguments go to `cmake --build`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
BUILD_DIR=${BUILD_DIR:-build}
# A compiler cache, when installed, makes rebuilds in several trees (worktrees, sanitizers) cheap.
LAUNCHER=""
if command -v ccache >/dev/null 2>&1; then
  LAUNCHER="-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache"
fi
# shellcheck disable=SC2086  # LAUNCHER and CMAKE_ARGS are lists of words
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo $LAUNCHER ${CMAKE_ARGS:-} >/dev/null
cmake --build "$BUILD_DIR" -j2 "$@"
