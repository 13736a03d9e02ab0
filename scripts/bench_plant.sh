#!/usr/bin/env bash
# Whole-workload benchmark: generates the plant workload at the given order counts and runs
# `takt simulate` on each, printing events, seconds, events/s, microseconds per event and peak
# resident memory. The generation is not timed. With --rules, the shipped rules run too (the
# complete plant workload: R1, R2 and R3).
#   scripts/bench_plant.sh [--rules] [ORDERS...]          (default: 10000 100000)
set -euo pipefail
cd "$(dirname "$0")/.."
takt=build/cli/takt
[ -x "$takt" ] || bash scripts/build.sh build >/dev/null
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 2; }
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
rules=()
if [ "${1:-}" = "--rules" ]; then
  rules=(--rules rules)
  shift
fi
orders=("$@")
[ ${#orders[@]} -gt 0 ] || orders=(10000 100000)

printf "%-10s %12s %9s %12s %9s %10s\n" orders events seconds events/s us/event peak_rss
for n in "${orders[@]}"; do
  "$takt" generate plant --orders "$n" --seed 1 --out "$dir/plant.jsonl" 2>/dev/null
  events=$(wc -l < "$dir/plant.jsonl")
  best=""
  for run in 1 2 3; do   # best of three: the least disturbed run
    /usr/bin/time -f "%e %M" -o "$dir/time" "$takt" simulate --quiet --workflows workflows \
      "${rules[@]}" --report "$dir/report.json" "$dir/plant.jsonl"
    read -r secs rss_kb < "$dir/time"
    if [ -z "$best" ] || awk -v a="$secs" -v b="$best" 'BEGIN { exit !(a < b) }'; then
      best=$secs
      best_rss=$rss_kb
    fi
  done
  awk -v n="$n" -v e="$events" -v s="$best" -v r="$best_rss" 'BEGIN {
    printf "%-10d %12d %9.2f %12.0f %9.3f %7.1f MiB\n", n, e, s, e / s, s * 1e6 / e, r / 1024 }'
done
