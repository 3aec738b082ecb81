#!/usr/bin/env bash
# The test command: installs what it needs, builds, and runs every test through ctest.
#   scripts/test.sh                 # all labels
#   scripts/test.sh -L unit         # extra arguments go to ctest
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD_DIR" -j2
start=$(date +%s)
ctest --test-dir "$BUILD_DIR" --output-on-failure --timeout 1800 "$@"
echo "test suite took $(( $(date +%s) - start )) s"
