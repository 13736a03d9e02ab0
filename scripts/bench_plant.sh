#!/usr/bin/env bash
# Whole-workload benchmark: generates the plant workload at the given order counts and runs
# `takt simulate` on each, printing events, seconds, events/s, microseconds per event, peak
# resident memory and, with a database, its size, for the fastest of the runs, and the slowest
# run's seconds beside them (the spread shows how noisy the machine was). The generation is not
# timed.
#   scripts/bench_plant.sh [--rules] [--db full|normal] [--batch N] [--max-instances N]
#                          [--open-only] [--runs N] [--against TAKT] [ORDERS...]
#     --rules          the shipped rules run too (the complete plant workload: R1, R2 and R3)
#     --db             durable: a fresh SQLite database per run, with that durability
#     --batch          events per transaction with --db (default 4096)
#     --max-instances  with --db: most instances kept in memory (default: every open one)
#     --open-only      only the orders' release events: every order stays open, which shows
#                      what open instances cost
#     --runs           runs per order count (default 3)
#     --against        another takt binary (an older build, say) run on the same stream, the two
#                      alternating run by run, so that both see the same spells of a noisy
#                      machine; a row each, and their reports must be the same byte for byte
#   (default orders: 10000 100000)
set -euo pipefail
cd "$(dirname "$0")/.."
takt=build/cli/takt
[ -x "$takt" ] || bash scripts/build.sh build >/dev/null
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 2; }
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
extra=()
durable=""
open_only=""
runs=3
against=
while [ $# -gt 0 ]; do
  case "$1" in
    --rules) extra+=(--rules rules); shift ;;
    --db) durable="$2"; extra+=(--durability "$2"); shift 2 ;;
    --batch) extra+=(--batch "$2"); shift 2 ;;
    --max-instances) extra+=(--max-instances "$2"); shift 2 ;;
    --open-only) open_only=1; shift ;;
    --runs) runs="$2"; shift 2 ;;
    --against) against="$2"; shift 2 ;;
    *) break ;;
  esac
done
orders=("$@")
[ ${#orders[@]} -gt 0 ] || orders=(10000 100000)

binaries=("$takt")
[ -z "$against" ] || binaries+=("$against")

printf "%-10s %-8s %12s %9s %12s %9s %12s %12s %9s\n" orders binary events seconds events/s \
  us/event peak_rss db_size slowest
for n in "${orders[@]}"; do
  "$takt" generate plant --orders "$n" --seed 1 --out "$dir/plant.jsonl" 2>/dev/null
  if [ -n "$open_only" ]; then
    grep -F '"type":"order.released"' "$dir/plant.jsonl" > "$dir/open.jsonl" || true
    mv "$dir/open.jsonl" "$dir/plant.jsonl"
  fi
  events=$(wc -l < "$dir/plant.jsonl")
  best=(); best_rss=(); worst=(); size=()
  for _ in $(seq "$runs"); do   # the fastest is the least disturbed run
    for b in "${!binaries[@]}"; do
      db=()
      if [ -n "$durable" ]; then
        rm -f "$dir"/plant.db*
        db=(--db "$dir/plant.db")
      fi
      /usr/bin/time -f "%e %M" -o "$dir/time" "${binaries[$b]}" simulate --quiet \
        --workflows workflows "${extra[@]}" "${db[@]}" --report "$dir/report-$b.json" \
        "$dir/plant.jsonl"
      read -r secs rss_kb < "$dir/time"
      worst[$b]=$(awk -v a="$secs" -v b="${worst[$b]:-0}" 'BEGIN { print (a > b ? a : b) }')
      if [ -z "${best[$b]:-}" ] || awk -v a="$secs" -v b="${best[$b]}" 'BEGIN { exit !(a < b) }'; then
        best[$b]=$secs
        best_rss[$b]=$rss_kb
        size[$b]=0
        [ -z "$durable" ] || size[$b]=$(cat "$dir"/plant.db* | wc -c)
      fi
    done
  done
  for b in "${!binaries[@]}"; do
    label=this
    [ "$b" = 0 ] || label=against
    awk -v n="$n" -v l="$label" -v e="$events" -v s="${best[$b]}" -v r="${best_rss[$b]}" \
      -v d="${size[$b]}" -v w="${worst[$b]}" 'BEGIN {
      db = d > 0 ? sprintf("%9.1f MiB", d / 1048576) : "-";
      printf "%-10d %-8s %12d %9.2f %12.0f %9.3f %8.1f MiB %12s %9.2f\n", n, l, e, s, e / s,
        s * 1e6 / e, r / 1024, db, w }'
  done
  if [ -n "$against" ] && ! cmp -s "$dir/report-0.json" "$dir/report-1.json"; then
    echo "the two binaries' reports differ at $n orders" >&2
    exit 1
  fi
done
