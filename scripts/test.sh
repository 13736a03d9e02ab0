#!/usr/bin/env bash
# Every test: install what is missing, build with warnings as errors and run the suite, then
# build again with AddressSanitizer and UndefinedBehaviorSanitizer and run it once more, then
# build the suites of the concurrent parts (the commit queue and engine threads, the
# dispatcher, rule reloads, takt serve, the store's writer thread) with ThreadSanitizer and run
# those.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
jobs="$(nproc 2>/dev/null || echo 2)"

echo "== build (warnings are errors)"
bash scripts/build.sh build
echo "== tests"
ctest --test-dir build --output-on-failure -j"$jobs"

echo "== build with ASan + UBSan"
bash scripts/build.sh build-sanitize -DTAKT_SANITIZE=ON -DTAKT_BUILD_BENCH=OFF
# Both builds must list the same tests: a suite that lost some (an object file left empty by
# a compile that was killed, say) would otherwise pass with fewer.
tests_in() { ctest --test-dir "$1" -N | sed -n 's/^Total Tests: //p'; }
if [ "$(tests_in build)" != "$(tests_in build-sanitize)" ]; then
  echo "the sanitizer build lists $(tests_in build-sanitize) tests, the plain one $(tests_in build)" >&2
  exit 1
fi
echo "== tests under ASan + UBSan"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-sanitize --output-on-failure -j"$jobs"

echo "== build the concurrent parts with ThreadSanitizer"
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTAKT_WERROR=ON \
  -DTAKT_SANITIZE_THREAD=ON -DTAKT_BUILD_BENCH=OFF >/dev/null
cmake --build build-tsan -j"$jobs" \
  --target takt_engine_tests takt_connect_tests takt_rules_tests takt_serve_tests takt_store_tests
echo "== their tests under ThreadSanitizer"
# The other suites are not built here (ctest lists them as NOT_BUILT); the install test
# builds consumers against an installed package, which this build does not make.
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/tests/tsan.supp" \
  ctest --test-dir build-tsan --output-on-failure -j"$jobs" -E "_NOT_BUILT$|^InstallTest\."
