#!/usr/bin/env bash
# Runs one fuzz target (tests/fuzz/fuzz_targets.h) under libFuzzer, with ASan and UBSan:
#   scripts/fuzz.sh TARGET [SECONDS]    TARGET: dsl, event, config, rule_state, mqtt_mapping,
#                                               lua_bridge, http_ingest, odoo_answers
#                                       SECONDS: default 60
# Builds build-fuzz with clang the first time. The corpus grows in build-fuzz/corpus/TARGET,
# seeded from tests/fuzz/corpus/TARGET. An input that crashes the target, hangs it (10 s) or
# breaks one of its invariants is written to build-fuzz/crashes/TARGET/: fix the cause, then
# keep the input in tests/fuzz/regressions/TARGET/, which the test run replays.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${1:?usage: scripts/fuzz.sh TARGET [SECONDS]}"
seconds="${2:-60}"
bash scripts/bootstrap.sh fuzz
jobs="$(nproc 2>/dev/null || echo 2)"
if [ ! -f build-fuzz/CMakeCache.txt ]; then
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DTAKT_FUZZ=ON -DTAKT_SANITIZE=ON -DTAKT_BUILD_BENCH=OFF >/dev/null
fi
cmake --build build-fuzz -j"$jobs" --target "takt_fuzz_${target}"
corpus="build-fuzz/corpus/${target}"
crashes="build-fuzz/crashes/${target}"
mkdir -p "$corpus" "$crashes"
# Runs from the source tree: the event target reads workflows/.
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  "build-fuzz/tests/takt_fuzz_${target}" -max_total_time="$seconds" -timeout=10 \
  -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="${crashes}/" \
  "$corpus" "tests/fuzz/corpus/${target}"
