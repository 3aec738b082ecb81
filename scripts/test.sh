#!/usr/bin/env bash
# The test command: installs what it needs, builds, and runs every test through ctest.
#   scripts/test.sh                 # all labels
#   scripts/test.sh -L unit         # extra arguments go to ctest
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
BUILD_DIR=$BUILD_DIR CMAKE_ARGS="-DBUILD_TESTING=ON" bash scripts/build.sh  # ON: demo.sh may have cached OFF
start=$(date +%s)
ctest --test-dir "$BUILD_DIR" --output-on-failure --timeout 1800 "$@"
echo "test suite took $(( $(date +%s) - start )) s"
