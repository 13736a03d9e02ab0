#!/usr/bin/env bash
# Every test: install what is missing, build with warnings as errors and run the suite, then
# build again with AddressSanitizer and UndefinedBehaviorSanitizer and run it once more.
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
echo "== tests under ASan + UBSan"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-sanitize --output-on-failure -j"$jobs"
