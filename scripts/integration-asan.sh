#!/usr/bin/env bash
# The integration corpus and the fault tests against ASan+UBSan builds of the mount and the agent
# (build tree build-asan, the same one scripts/check.sh asan uses for the unit tests).
#   scripts/integration-asan.sh                       # every integration test (ctest -L integration)
#   scripts/integration-asan.sh -R 'integration\.(corpus|rdma_faults)'   # extra args go to ctest
# A sanitizer report aborts the process that hit it (the test then fails on the dead mount or agent)
# and is kept in build-asan/sanitizer-logs/; the script lists them and fails if there is any.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=build-asan
BUILD_DIR=$BUILD_DIR CMAKE_ARGS="-DCMAKE_BUILD_TYPE=Debug -DSEAWEED_SANITIZE=address -DBUILD_TESTING=ON" \
  bash scripts/build.sh
logs=$PWD/$BUILD_DIR/sanitizer-logs
rm -rf "$logs" && mkdir -p "$logs"
# detect_leaks: LeakSanitizer at exit (a leak makes the exit code 23, which the tests check for the
# agent and the mount). UCX's malloc/mmap hooks patch the allocator ASan owns: off.
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0:log_path=$logs/asan:log_exe_name=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$logs/ubsan:log_exe_name=1"
export LSAN_OPTIONS="suppressions=$PWD/scripts/lsan.supp:print_suppressions=0"
export UCX_MEM_MALLOC_HOOKS=no UCX_MEM_MMAP_HOOK_MODE=none
start=$(date +%s)
status=0
if [ $# -eq 0 ]; then set -- -L integration; fi
ctest --test-dir "$BUILD_DIR" --output-on-failure --timeout 3600 "$@" || status=$?
echo "integration-asan: ctest exit $status in $(( $(date +%s) - start )) s"
# python and weed are not instrumented: only our binaries write reports
mapfile -t reports < <(find "$logs" -type f -size +0 | sort)
if [ ${#reports[@]} -gt 0 ]; then
  echo "integration-asan: ${#reports[@]} sanitizer report(s):"
  for r in "${reports[@]}"; do echo "=== $r"; head -60 "$r"; done
  exit 1
fi
echo "integration-asan: no sanitizer reports"
exit $status
