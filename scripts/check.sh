#!/usr/bin/env bash
# The project's own checks beyond the tests: formatting, Python lint, clang's thread-safety
# analysis, and the unit tests under ASan+UBSan and under TSan (separate build trees: build-asan,
# build-tsan).
#   scripts/check.sh                 all
#   scripts/check.sh format          only clang-format
#   scripts/check.sh lint            only pyflakes (Debian pyflakes3) over the Python in integration/, bench/, scripts/
#   scripts/check.sh thread-safety   only clang's -Wthread-safety analysis (must be clean)
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}

if [ "$what" = all ] || [ "$what" = format ]; then
  mapfile -t files < <(git ls-files 'src/*.cc' 'src/*.h' 'tests/*.cc' 'tests/*.h' 'bench/*.cc' 'bench/*.c')
  clang-format --dry-run --Werror "${files[@]}"
  echo "check: clang-format ok (${#files[@]} files)"
fi

if [ "$what" = all ] || [ "$what" = lint ]; then
  mapfile -t py < <(git ls-files 'integration/*.py' 'bench/*.py' 'scripts/*.py')
  pyflakes3 "${py[@]}"
  echo "check: pyflakes ok (${#py[@]} files)"
fi

if [ "$what" = all ] || [ "$what" = thread-safety ]; then
  # clang's analysis of GUARDED_BY, REQUIRES, ... (src/common/thread_annotations.h) over every
  # src/ and tests/ file, with the include paths of the normal build (generated headers included).
  bash scripts/build.sh
  python3 scripts/thread_safety.py build
  echo "check: clang -Wthread-safety clean"
fi

sanitized() {  # name, cmake sanitizer value, extra env for the tests
  local dir=build-$1
  BUILD_DIR=$dir CMAKE_ARGS="-DCMAKE_BUILD_TYPE=Debug -DSEAWEED_SANITIZE=$2 -DBUILD_TESTING=ON" bash scripts/build.sh
  # UCX's memory hooks and TSan's interceptors do not mix; the tests need neither.
  env $3 ctest --test-dir "$dir" -L unit --output-on-failure
  echo "check: unit tests clean under $1"
}
if [ "$what" = all ] || [ "$what" = asan ]; then
  sanitized asan address "ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1"
fi
if [ "$what" = all ] || [ "$what" = tsan ]; then
  sanitized tsan thread "TSAN_OPTIONS=halt_on_error=1 UCX_MEM_MMAP_HOOK_MODE=none UCX_MEM_MALLOC_HOOKS=no"
fi
